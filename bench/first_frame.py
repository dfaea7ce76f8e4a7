"""Launch to first frame: pelican-tui against a hello-world Textual app, same run, same terminals.

Usage: python bench/first_frame.py [--rounds N] [--home DIR] [--terminals pty,tmux]
                                   [--also NAME=PYTHONPATH] [--out FILE]

Each round starts every program in each terminal, the order turning by one
each round (hello first, then pelican-tui first, ...), and times the launch
(just before the fork) to the moment the first frame reaches the terminal (the
chunk that holds the footer's "Run both"; both apps have that key):

- ``pty``: a 160x48 pseudo-terminal that answers like a modern xterm without
  graphics (:mod:`pty_terminal`);
- ``tmux``: ``tmux new-session -x 160 -y 48`` (status line off) on that same
  pseudo-terminal: tmux itself answers the app's questions, as it does for a
  user, and the frame is timed when tmux draws it outside.

pelican-tui is the real command (``python -m pelican_tui --no-claude --ctx
2048``, the stand-in model): it finds llama-server and the model, asks the
terminal what it draws, starts llama-server in the background after the first
frame, and is quit with ``q`` once it has settled. ``--home`` starts it on a
copy of an existing ``PELICAN_HOME`` (for example one with 500 sessions, see
:mod:`long_sessions`); by default each launch gets an empty one. ``--also
NAME=PYTHONPATH`` measures one more pelican-tui in the same rounds, imported
from a ``pelican_tui`` package in that folder (a link tree that another
checkout's ``.dev-pythonpath.sh`` makes): a change measured against the
current code and the same hello-world app, under the same load.

On the pty, the program's CPU time at the first frame is read too (every
thread's, from the scheduler's count in ``/proc``, when the bench sees the
frame, so it also holds the few milliseconds after it): on a loaded machine a
launch waits for the CPU by a different amount each time, and its CPU time
varies much less than its wall-clock time. In tmux the program is tmux's
child, not the terminal's, and only the wall-clock time is taken.

No flash of the wrong picture mode: the status bar's ``img MODE`` in the first
frame is compared with the one on screen after the app settled.

Bytecode: pelican-tui's own modules are an editable install, and these
machines set ``PYTHONDONTWRITEBYTECODE=1``, so by default every launch would
compile ~150 modules from source, which a user's second start never does.
Both programs therefore get a private ``PYTHONPYCACHEPREFIX`` (written by one
uncounted warm-up launch of each); ``--no-bytecode-cache`` measures the case
where nothing is compiled ahead, for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pty_terminal import PtyTerminal
from report import Spread
from workload import COLS, ROOT, ROWS, Workload, python

FIRST_FRAME_MARKER = b"Run both"
SETTLE_S = 1.5
APP_FLAGS = ("--no-claude", "--ctx", "2048")
_CSI = re.compile(
    rb"\x1b(?:\[[0-9;?<>=$ ]*[A-Za-z@`~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])"
)
_IMG = re.compile(rb"img ([a-z]+)")
TMUX_CONF = "set -g status off\nset -g escape-time 0\n"


def cpu_seconds(pid: int) -> float | None:
    """CPU time so far of every live thread of ``pid`` (the scheduler's count, in
    nanoseconds, in ``/proc/PID/task/*/schedstat``); None if it cannot be read."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def say(message: str) -> None:
    print(f"[first-frame] {message}", file=sys.stderr, flush=True)


def screen_text(data: bytes) -> bytes:
    """The stream without escape sequences (enough to find words the app wrote)."""
    return _CSI.sub(b"", data)


def image_mode_shown(data: bytes) -> str | None:
    """The last ``img MODE`` the status bar wrote in ``data``."""
    found = _IMG.findall(screen_text(data))
    return found[-1].decode() if found else None


class Launcher:
    """Starts one program on a terminal kind; owns the temporary homes and tmux sockets."""

    def __init__(
        self,
        *,
        home_template: Path | None,
        bytecode_cache: Path | None,
        max_tokens: int = Workload().max_tokens,
        also: dict[str, str] | None = None,
    ) -> None:
        self.home_template = home_template
        self.bytecode_cache = bytecode_cache
        self.max_tokens = max_tokens
        self.also = dict(also or {})
        """More pelican-tuis by name: the PYTHONPATH each is imported from."""
        self.scratch = Path(tempfile.mkdtemp(prefix="pelican-first-frame-"))
        self._count = 0

    def env(self, home: Path) -> dict[str, str]:
        env = Workload(max_tokens=self.max_tokens).env(home)
        if self.bytecode_cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.bytecode_cache)
        else:  # an empty cache that is never written: every module compiled every time
            env["PYTHONPYCACHEPREFIX"] = str(self.scratch / "no-bytecode")
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def new_home(self) -> Path:
        self._count += 1
        home = self.scratch / f"home-{self._count}"
        if self.home_template is not None:
            shutil.copytree(self.home_template, home, symlinks=True)
        else:
            home.mkdir()
        return home

    def argv(self, program: str) -> list[str]:
        if program == "hello":
            return [python(), str(ROOT / "bench" / "hello_textual.py")]
        return [python(), "-m", "pelican_tui", *APP_FLAGS]

    def launch(
        self,
        program: str,
        terminal: str,
        *,
        timeout_s: float = 60.0,
        settle_s: float = SETTLE_S,
        then: Callable[[PtyTerminal], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Start ``program`` ("hello" or "app") in ``terminal`` ("pty" or "tmux"); time its
        first frame; run ``then`` (more keys, more timings) if given; quit it."""
        home = self.new_home()
        env = self.env(home)
        if program in self.also:
            env["PYTHONPATH"] = self.also[program]
        argv = self.argv(program)
        socket = None
        if terminal == "tmux":
            conf = self.scratch / "tmux.conf"
            conf.write_text(TMUX_CONF)
            socket = f"pelican-ff-{os.getpid()}-{self._count}"
            argv = [
                "tmux", "-L", socket, "-f", str(conf),
                "new-session", "-x", str(COLS), "-y", str(ROWS), "--", *argv,
            ]  # fmt: skip
        term = PtyTerminal(argv, env, cols=COLS, rows=ROWS, cwd=str(ROOT))
        result: dict[str, Any] = {"program": program, "terminal": terminal}
        term.start()
        try:
            shown = term.wait_for(FIRST_FRAME_MARKER, timeout_s)
            if shown is None:
                raise RuntimeError(f"{program} in {terminal} showed no frame:\n{_tail(term)}")
            result["first_frame_s"] = shown - term.spawned_at
            if terminal == "pty":  # the program is the terminal's child (in tmux, tmux is)
                result["first_frame_cpu_s"] = cpu_seconds(term.pid)
            first = term.output()
            end = first.find(FIRST_FRAME_MARKER) + len(FIRST_FRAME_MARKER)
            result["first_frame_mode"] = image_mode_shown(first[:end])
            if then is not None:
                result.update(then(term))
            time.sleep(settle_s)
            result["settled_mode"] = image_mode_shown(term.output())
            term.press("q")
            result["quit_cleanly"] = term.wait_exit(20.0)
        finally:
            term.close(grace_s=5.0)
            if socket is not None:
                _kill_tmux(socket, env)
            shutil.rmtree(home, ignore_errors=True)
        return result

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _kill_tmux(socket: str, env: dict[str, str]) -> None:
    import subprocess

    subprocess.run(
        ["tmux", "-L", socket, "kill-server"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def _tail(term: PtyTerminal, size: int = 1500) -> str:
    return screen_text(term.output()[-20000:]).decode("utf-8", "replace")[-size:]


def run_rounds(
    launcher: Launcher, rounds: int, terminals: list[str], apps: list[str]
) -> list[dict[str, Any]]:
    """Per round and terminal: hello and every app, the order turned by one each round."""
    programs = ["hello", *apps]
    samples = []
    for index in range(rounds):
        turn = index % len(programs)
        order = programs[turn:] + programs[:turn]
        for terminal in terminals:
            pair: dict[str, Any] = {"round": index + 1, "terminal": terminal, "order": order}
            for program in order:
                pair[program] = launcher.launch(program, terminal)
            hello = pair["hello"]["first_frame_s"]
            pair["ratios"] = {app: pair[app]["first_frame_s"] / hello for app in apps}
            hello_cpu = pair["hello"].get("first_frame_cpu_s")
            pair["cpu_ratios"] = {
                app: cpu / hello_cpu
                for app in apps
                if hello_cpu and (cpu := pair[app].get("first_frame_cpu_s")) is not None
            }
            say(
                f"round {index + 1}/{rounds} {terminal}: hello {hello:.3f} s · "
                + " · ".join(
                    f"{app} {pair[app]['first_frame_s']:.3f} s ({pair['ratios'][app]:.2f}, "
                    f"img {pair[app]['first_frame_mode']} -> {pair[app]['settled_mode']})"
                    for app in apps
                )
            )
            samples.append(pair)
    return samples


def summarize(
    samples: list[dict[str, Any]], terminals: list[str], apps: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for terminal in terminals:
        mine = [s for s in samples if s["terminal"] == terminal]
        figures: dict[str, Any] = {
            "hello_s": Spread.of([s["hello"]["first_frame_s"] for s in mine]),
            "hello_cpu_s": Spread.of([s["hello"].get("first_frame_cpu_s") for s in mine]),
        }
        for app in apps:
            figures[app] = {
                "first_frame_s": Spread.of([s[app]["first_frame_s"] for s in mine]),
                "ratio": Spread.of([s["ratios"][app] for s in mine]),
                "cpu_s": Spread.of([s[app].get("first_frame_cpu_s") for s in mine]),
                "cpu_ratio": Spread.of([s["cpu_ratios"].get(app) for s in mine]),
                "image_mode": sorted({str(s[app]["settled_mode"]) for s in mine}),
                "rounds_with_mode_change": [
                    s["round"] for s in mine if s[app]["first_frame_mode"] != s[app]["settled_mode"]
                ],
            }
        out[terminal] = figures
    return out


def _plain(value: Any) -> Any:
    """``value`` with every :class:`Spread` turned into a dict (for JSON)."""
    if isinstance(value, Spread):
        return asdict(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _fmt(spread: Spread | None, digits: int = 3) -> str:
    if spread is None:
        return "-"
    return f"{spread.median:.{digits}f} ({spread.low:.{digits}f}-{spread.high:.{digits}f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--terminals", default="pty,tmux", help="pty, tmux or both (default)")
    parser.add_argument("--home", type=Path, help="start pelican-tui on a copy of this home")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile every module (Textual's too) at every launch",
    )
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=PYTHONPATH",
        help="one more pelican-tui, imported from this folder (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="write the samples and summary as JSON")
    args = parser.parse_args(argv)
    also = dict(item.split("=", 1) for item in args.also)
    apps = ["app", *also]
    terminals = [t.strip() for t in args.terminals.split(",") if t.strip()]
    if "tmux" in terminals and shutil.which("tmux") is None:
        parser.error("tmux is not installed (apt-get install tmux), or use --terminals pty")
    cache = None if args.no_bytecode_cache else Path(tempfile.mkdtemp(prefix="pelican-pyc-"))
    launcher = Launcher(home_template=args.home, bytecode_cache=cache, also=also)
    try:
        if cache is not None:
            say("warm-up launches (bytecode written, not counted)")
            for program in ("hello", *apps):
                launcher.launch(program, terminals[0], settle_s=0.5)
        samples = run_rounds(launcher, args.rounds, terminals, apps)
    finally:
        launcher.close()
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    summary = summarize(samples, terminals, apps)
    load = os.getloadavg()
    print(f"launch to first frame, {args.rounds} rounds, medians (min-max); load {load[0]:.1f}")
    for terminal, figures in summary.items():
        cpu = figures["hello_cpu_s"]
        cpu_text = f" · CPU {_fmt(cpu)} s" if cpu is not None else ""
        print(f"  {terminal:5} hello-world Textual {_fmt(figures['hello_s'])} s{cpu_text}")
        for app in apps:
            mine = figures[app]
            name = "pelican-tui" if app == "app" else app
            cpu_text = ""
            if mine["cpu_s"] is not None:
                cpu_text = f" · CPU {_fmt(mine['cpu_s'])} s, ratio {_fmt(mine['cpu_ratio'], 2)}"
            print(
                f"  {terminal:5} {name} {_fmt(mine['first_frame_s'])} s · ratio "
                f"{_fmt(mine['ratio'], 2)}{cpu_text} · img {','.join(mine['image_mode'])}, "
                f"changed after the first frame in {len(mine['rounds_with_mode_change'])} rounds"
            )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "command": " ".join(["bench/first_frame.py", *(argv or sys.argv[1:])]),
            "load_average": load,
            "bytecode_cache": cache is not None,
            "summary": _plain(summary),
            "samples": samples,
        }
        args.out.write_text(json.dumps(data, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
