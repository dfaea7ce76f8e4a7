"""Side A: the real pelican-tui, as a process on a pseudo-terminal.

``python -m pelican_tui`` starts on a 160x48 pty (see :mod:`pty_terminal`),
spawns its own llama-server, and is driven with keys like a person would:
``r`` runs both panes. Completion is read from the session store the app
writes (both runs finished), not from the screen.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
from pty_terminal import PtyTerminal
from workload import ROOT, Workload, python

from pelican_tui.backends.store.sessions import SessionStore

FIRST_FRAME_MARKER = b"Run both"
READY_MARKER = b"server: ready"
SETTLE_S = 1.0
POLL_S = 0.1


def _cpu(proc: psutil.Process | None) -> float:
    """User + system CPU seconds of ``proc`` itself (children excluded)."""
    if proc is None:
        return 0.0
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _switches(proc: psutil.Process) -> int:
    """Context switches of ``proc``'s threads alive now (each one a wake-up or a preemption).

    Summed over ``/proc/<pid>/task``: psutil's ``num_ctx_switches`` counts the main
    thread's only."""
    total = 0
    for status in Path(f"/proc/{proc.pid}/task").glob("*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # a thread that ended meanwhile
        total += sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)
    return total


def _children(app: psutil.Process) -> tuple[psutil.Process | None, psutil.Process | None]:
    """(llama-server, SVG worker) among the app's children."""
    server = worker = None
    try:
        for child in app.children(recursive=True):
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "llama-server" in cmdline and " --port " in cmdline:
                server = child  # not a short-lived `llama-server --version`
            elif "pelican_tui.backends.svg.worker" in cmdline:
                worker = child
    except psutil.Error:
        pass
    return server, worker


def _wait_server_child(app: psutil.Process, timeout_s: float) -> psutil.Process | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server, _ = _children(app)
        if server is not None:
            return server
        time.sleep(0.01)
    return None


def _wait_healthy(server: psutil.Process, timeout_s: float) -> float | None:
    """Poll the app's llama-server on ``/health`` (no key needed) every 10 ms.

    Returns the monotonic time it first answered 200: when the server was
    really ready, to split pelican-tui's readiness overhead into the server's
    load and the time until the app shows it.
    """
    try:
        cmdline = server.cmdline()
        port = cmdline[cmdline.index("--port") + 1]
    except (psutil.Error, ValueError, IndexError):
        return None
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0, trust_env=False) as client:  # loopback: no proxy
        while time.monotonic() < deadline:
            try:
                if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return time.monotonic()
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    return None


def _open_store(db: Path) -> SessionStore | None:
    if not db.exists():
        return None
    try:
        return SessionStore.open(db, create=False)
    except Exception:
        return None


def _both_finished(store: SessionStore) -> bool:
    """Cheap poll: the session list's run summaries (no text, no pictures)."""
    sessions = store.list_sessions(limit=1)
    runs = sessions[0].runs if sessions else ()
    return len(runs) == 2 and all(run.status != "running" for run in runs)


def _measure_load(term: PtyTerminal, app: psutil.Process, result: dict[str, Any]) -> psutil.Process:
    """Wait for the app's llama-server and for its /health 200; note when, and what the
    app itself did meanwhile (it shares the cores with the loading server)."""
    server = _wait_server_child(app, 60.0)
    if server is None:
        raise RuntimeError("pelican-tui did not start llama-server:\n" + _tail(term))
    result["app_to_server_spawn_s"] = server.create_time() - app.create_time()
    cpu0, switches0 = _cpu(app), _switches(app)
    healthy = _wait_healthy(server, 300.0)
    if healthy is not None:
        result["server_healthy_s"] = healthy - term.spawned_at
        result["app_cpu_during_load_s"] = _cpu(app) - cpu0
        result["app_switches_during_load"] = _switches(app) - switches0
    return server


def _app_argv(workload: Workload) -> list[str]:
    return [python(), "-m", "pelican_tui", *workload.cli_flags()]


@contextlib.contextmanager
def _in_pty(argv: list[str], workload: Workload, name: str) -> Iterator[tuple[Path, PtyTerminal]]:
    """``argv`` started on a pty with a PELICAN_HOME of its own (``pelican-bench-<name>-``),
    closed and its home removed afterwards, however the measurement went."""
    home = Path(tempfile.mkdtemp(prefix=f"pelican-bench-{name}-"))
    cols, rows = workload.size
    term = PtyTerminal(argv, workload.env(home), cols=cols, rows=rows, cwd=str(ROOT))
    term.start()
    try:
        yield home, term
    finally:
        term.close(grace_s=5.0)
        shutil.rmtree(home, ignore_errors=True)


def run_app_load_once(workload: Workload) -> dict[str, Any]:
    """Start pelican-tui, wait until its llama-server answers /health, quit: the load alone."""
    result: dict[str, Any] = {}
    with _in_pty(_app_argv(workload), workload, "load") as (_home, term):
        _measure_load(term, psutil.Process(term.pid), result)
        term.wait_for(READY_MARKER, 60.0)
        term.press("q")
        term.wait_exit(15.0)
    return result


def run_app_once(workload: Workload, timeout_s: float = 900.0) -> dict[str, Any]:
    """Start pelican-tui, run both panes once, measure, quit. Returns one sample."""
    result: dict[str, Any] = {}
    with _in_pty(_app_argv(workload), workload, "app") as (home, term):
        app = psutil.Process(term.pid)
        server = _measure_load(term, app, result)
        server_pid = server.pid
        first_frame = term.wait_for(FIRST_FRAME_MARKER, 60.0)
        ready = term.wait_for(READY_MARKER, 300.0)
        if first_frame is None or ready is None:
            raise RuntimeError("no first frame or no 'server: ready':\n" + _tail(term))
        result["first_frame_s"] = first_frame - term.spawned_at
        result["ready_shown_s"] = ready - term.spawned_at
        time.sleep(0.5)  # let start-up work finish so the window holds only the run

        db = home / "data" / "sessions.sqlite3"
        _, worker = _children(app)
        app_cpu0, server_cpu0, worker_cpu0 = _cpu(app), _cpu(server), _cpu(worker)
        bytes0 = term.bytes_at()
        pressed = term.press("r")
        bench_cpu0 = _cpu(psutil.Process())
        store: SessionStore | None = None
        deadline = pressed + timeout_s
        while time.monotonic() < deadline:
            store = store or _open_store(db)
            if store is not None and _both_finished(store):
                break
            time.sleep(POLL_S)
        else:
            raise RuntimeError("the runs did not finish in time:\n" + _tail(term))
        done = time.monotonic()
        bench_cpu = _cpu(psutil.Process()) - bench_cpu0
        _, worker_now = _children(app)
        worker = worker_now or worker
        app_cpu1, server_cpu1 = _cpu(app), _cpu(server)
        worker_cpu1 = _cpu(worker)  # usually started during the run (first preview)
        bytes_done = term.bytes_at()
        time.sleep(SETTLE_S)  # the last frames (final pictures) reach the terminal
        bytes_settled = term.bytes_at()
        rss = app.memory_info().rss
        worker_rss = worker.memory_info().rss if worker is not None else None
        session = store.get_session(store.list_sessions(limit=1)[0].id)
        runs = list(session.runs)
        store.close()

        result.update(
            window_s=done - pressed,
            app_cpu_s=app_cpu1 - app_cpu0,
            server_cpu_s=server_cpu1 - server_cpu0,
            svg_worker_cpu_s=worker_cpu1 - worker_cpu0,
            terminal_bytes=bytes_settled - bytes0,
            terminal_bytes_until_done=bytes_done - bytes0,
            rss_bytes=rss,
            svg_worker_rss_bytes=worker_rss,
            bench_cpu_s=bench_cpu,
            streams=[_stream(run) for run in sorted(runs, key=lambda r: r.slot)],
        )
        term.press("q")
        result["quit_cleanly"] = term.wait_exit(15.0)
        result["server_left_running"] = psutil.pid_exists(server_pid) and _alive(server_pid)
    return result


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stream(run: Any) -> dict[str, Any]:
    timings = run.timings or {}
    generated = timings.get("generated_tokens")
    total = timings.get("total_s")
    ttft = timings.get("time_to_first_token_s")
    delivered = None
    if generated and total and ttft is not None and total > ttft:
        delivered = (generated - 1) / (total - ttft) if generated > 1 else None
    return {
        "slot": run.slot,
        "status": run.status,
        "generated_tokens": generated,
        "server_tok_s": timings.get("generation_tokens_per_s"),
        "delivered_tok_s": delivered,
        "ttft_s": ttft,
        "total_s": total,
        "answer_bytes": len((run.answer or "").encode()) + len((run.thinking_text or "").encode()),
        "has_png": run.png is not None,
    }


def _tail(term: PtyTerminal, size: int = 2000) -> str:
    import re

    text = re.sub(rb"\x1b\[[0-9;?<>=$]*[A-Za-z]", b"", term.output()[-20000:])
    return text.decode("utf-8", "replace")[-size:]


def run_hello_once(timeout_s: float = 60.0) -> dict[str, Any]:
    """The baseline Textual app: time to first frame and memory after it."""
    argv = [python(), str(ROOT / "bench" / "hello_textual.py")]
    with _in_pty(argv, Workload(), "hello") as (_home, term):
        first_frame = term.wait_for(FIRST_FRAME_MARKER, timeout_s)
        if first_frame is None:
            raise RuntimeError("the hello app showed no frame:\n" + _tail(term))
        time.sleep(SETTLE_S)
        rss = psutil.Process(term.pid).memory_info().rss
        term.press("q")
        term.wait_exit(10.0)
    return {"first_frame_s": first_frame - term.spawned_at, "rss_bytes": rss}


def main() -> None:
    """Figure 3b's first part alone: llama-server's load when pelican-tui spawns it against
    spawned bare, interleaved, with the app's CPU and context switches during the load.

        .venv/bin/python bench/app_side.py --model real-shape --rounds 5
    """
    import argparse
    import statistics

    from bare_side import spawn_bare_server, stop_server
    from run import isolate_environment, resolve_model

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", default="stand-in", help="stand-in, real-shape or a GGUF")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = isolate_environment()
    key, model = resolve_model(args.model)
    workload = Workload(model=None if key == "stand-in" else model)
    loads: dict[str, list[float]] = {"app": [], "bare": []}
    try:
        for index in range(args.rounds):
            for side in ("app", "bare") if index % 2 == 0 else ("bare", "app"):
                if side == "bare":
                    server, _, _, load_s = spawn_bare_server(workload)
                    stop_server(server)
                    print(f"round {index + 1} bare: load {load_s * 1000:.0f} ms", flush=True)
                    loads["bare"].append(load_s * 1000)
                    continue
                got = run_app_load_once(workload)
                load_ms = (got["server_healthy_s"] - got["app_to_server_spawn_s"]) * 1000
                loads["app"].append(load_ms)
                print(
                    f"round {index + 1} app: load {load_ms:.0f} ms, the app's CPU meanwhile "
                    f"{got['app_cpu_during_load_s'] * 1000:.0f} ms, "
                    f"{got['app_switches_during_load']} context switches",
                    flush=True,
                )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for side, values in loads.items():
        median = statistics.median(values)
        print(f"{side}: median {median:.0f} ms ({min(values):.0f}-{max(values):.0f})")


if __name__ == "__main__":
    main()
