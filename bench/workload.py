"""The one workload every side of the benchmark runs, defined once.

pelican-tui's two panes with no Claude key: the left pane runs the local model
with thinking on, the right with thinking off, both on the same llama-server
and so in turn
(``-c 2048``, a fixed ``--seed`` so the same request generates the same tokens
in every run, ``-t`` all cores unless told otherwise) and ``max_tokens`` fixed.
The model is the tiny default stand-in unless ``model`` names a GGUF (the
benchmark's real-shape model, :mod:`real_shape`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.binary import find_server_binary
from pelican_tui.backends.llama.local_model import plan_local, server_config
from pelican_tui.backends.openai_compat.payload import build_payload
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import Settings, load_settings

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
COLS, ROWS = 160, 48


@frozen
class Workload:
    max_tokens: int = 256
    context: int = 2048
    seed: int = 42
    model: Path | None = None
    """A GGUF to serve; None: the tiny default stand-in."""
    threads: int | None = None
    """llama-server's ``-t``; None: llama-server's own default."""
    size: tuple[int, int] = (COLS, ROWS)
    """The app's terminal, columns and rows, where its CPU and bytes are measured (below
    100 columns one pane is shown at a time, the other hidden: the SSH case, 80x24)."""
    turns: bool = True
    """The two panes stream one after the other, not together: pelican-tui's engine
    runs panes that share one server in turn (``ComparisonEngine.shared_turn``)."""

    @property
    def server_args(self) -> list[str]:
        return ["--seed", str(self.seed)]

    def cli_flags(self) -> list[str]:
        """pelican-tui command-line flags that select this workload."""
        flags = ["--ctx", str(self.context), "--no-claude"]
        if self.model is not None:
            flags += ["--model", str(self.model)]
        if self.threads is not None:
            flags += ["--threads", str(self.threads)]
        return flags + [f"--server-arg={arg}" for arg in self.server_args]

    def env(self, home: Path) -> dict[str, str]:
        """A clean environment: private config/data folder, no Claude, shared model cache."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PELICAN_", "ANTHROPIC_", "TEXTUAL"))
        }
        if "PELICAN_CACHE_DIR" in os.environ:
            env["PELICAN_CACHE_DIR"] = os.environ["PELICAN_CACHE_DIR"]
        # Compiled modules are kept, as on a user's machine: pelican-tui is an
        # editable install, and with PYTHONDONTWRITEBYTECODE=1 (set on these
        # machines) every launch would compile its ~150 modules, which a user's
        # second start never does (Textual's bytecode is in site-packages).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            TERM="xterm-256color",
            COLORTERM="truecolor",
            PELICAN_HOME=str(home),
            PELICAN_CONFIG_FILE=str(home / "config.toml"),
            PELICAN_LOCAL__MAX_TOKENS=str(self.max_tokens),
        )
        return env

    def settings(self, **sections: dict[str, Any]) -> Settings:
        """The settings pelican-tui builds from :meth:`cli_flags` and :meth:`env`
        (with ``sections`` added, e.g. ``remote={"url": ...}``)."""
        local: dict[str, Any] = {
            "context": self.context,
            "extra_args": self.server_args,
            "max_tokens": self.max_tokens,
        }
        if self.model is not None:
            local["model"] = self.model
        if self.threads is not None:
            local["threads"] = self.threads
        return load_settings({"local": local, "claude": {"enabled": False}, **sections})

    def server_command(self, port: int) -> list[str]:
        """llama-server's command line exactly as pelican-tui builds it.

        The API key is not on it: pelican-tui passes it in the environment
        (:data:`~pelican_tui.backends.llama.process.API_KEY_ENV`), and so does the bench.
        """
        settings = self.settings()
        found = find_server_binary(settings.local.llama_server)
        if found is None:
            raise SystemExit("no llama-server: run `bin/pelican-tui setup` first")
        plan = plan_local(settings.local)
        if plan.model_path is None or not plan.model_path.is_file():
            raise SystemExit(f"no model at {plan.model_path}: run `bin/pelican-tui setup` first")
        config = server_config(settings.local, found.path, model=plan.model_path, hf=plan.hf)
        return config.command(port)

    def payloads(self) -> list[dict[str, Any]]:
        """The two requests pelican-tui sends (left pane thinking on, right off)."""
        settings = self.settings()
        return [
            build_payload(
                GenerationRequest(
                    prompt=settings.prompt,
                    thinking=thinking,
                    system=settings.system_prompt,
                    max_tokens=self.max_tokens,
                ),
                None,
            )
            for thinking in (settings.local.thinking, not settings.local.thinking)
        ]


def python() -> str:
    return sys.executable


def warm_bytecode() -> None:
    """Compile pelican-tui and the bench (``__pycache__``, ignored by git; a no-op
    when nothing changed), so that no measured launch compiles them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    folders = [str(ROOT / name) for name in ("tui", "backends", "themes", "bench")]
    subprocess.run(
        [python(), "-m", "compileall", "-q", *folders],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
