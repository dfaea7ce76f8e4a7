"""How llama-server is started: its settings and the command line built from them.

:class:`ServerConfig` holds everything needed to spawn llama-server;
:meth:`ServerConfig.command` is the argv (the API key is never in it: it
travels in the child's environment, see :mod:`.process`), and
:meth:`ServerConfig.display_flags` is the same command line with secrets
hidden, for records and the log view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal, get_args

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.secrets import redact_args

# -- the values of its flags (the settings, the command-line flags and the server settings
# screen all take them from here; this module is light, for ``--help``) -------------------

LoadMode = Literal["auto", "none", "mmap", "mlock", "mmap+mlock", "dio"]
LOAD_MODES: Final[tuple[str, ...]] = get_args(LoadMode)
"""``--load-mode``: how llama-server loads weights."""
CONTEXT_RANGE: Final = (256, 16 * 1024 * 1024)
"""``-c``, least and most: less holds no pelican's prompt and answer; more is beyond
what any model is trained for, and what memory can hold."""
THREADS_RANGE: Final = (1, 1024)
"""``-t``, least and most."""
LAYERS_RANGE: Final = (0, 1000)
"""``--n-cpu-moe`` and ``-ngl``: a number of a model's layers."""


def hf_reference_problem(ref: str) -> str | None:
    """What is wrong with ``ref`` as a ``-hf`` reference (``user/repo`` or
    ``user/repo:quant``), in a few words; None when nothing is."""
    repo = ref.partition(":")[0]
    user, slash, name = repo.partition("/")
    if not (user and slash and name) or "/" in name or any(c.isspace() for c in ref):
        return "expected user/repo or user/repo:quant (a Hugging Face reference)"
    return None


# -- configuration ------------------------------------------------------------------


@frozen
class ServerConfig:
    """Everything needed to spawn llama-server (the command line is built from it)."""

    binary: Path
    model: Path | None = None
    hf: str | None = None
    context: int = 8192
    threads: int | None = None
    n_cpu_moe: int | None = None
    gpu_layers: int | None = None
    load_mode: str | None = None
    extra_args: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int | None = None
    """None: pick a free loopback port (retried once on a new port if it is taken)."""
    ready_timeout_s: float = 600.0
    """How long loading may take. Time spent downloading (``-hf``) does not count."""
    download_bytes: int | None = None
    """Expected size of a ``-hf`` download when known, for a progress fraction."""
    models_dir: Path | None = None
    """Router mode (:mod:`.router`): serve every GGUF of this folder, none loaded at start."""
    models_max: int | None = None
    """Router mode: how many models may be loaded at once (``--models-max``)."""

    def command(self, port: int) -> list[str]:
        """The argv. The API key is not in it: it goes in the environment."""
        cmd = [str(self.binary)]
        if self.models_dir is not None:
            cmd += ["--models-dir", str(self.models_dir)]
            if self.models_max is not None:
                cmd += ["--models-max", str(self.models_max)]
        elif self.model is not None:
            cmd += ["-m", str(self.model)]
        elif self.hf:
            cmd += ["-hf", self.hf, "--no-mmproj"]
        cmd += ["--host", self.host, "--port", str(port), "-c", str(self.context)]
        cmd += ["--metrics"]
        if self.threads is not None:
            cmd += ["-t", str(self.threads)]
        if self.n_cpu_moe is not None:
            cmd += ["--n-cpu-moe", str(self.n_cpu_moe)]
        if self.gpu_layers is not None:
            cmd += ["-ngl", str(self.gpu_layers)]
        if self.load_mode is not None:
            cmd += ["--load-mode", self.load_mode]
        cmd += list(self.extra_args)
        return cmd

    def display_flags(self) -> list[str]:
        """The flags for records and the log view, secrets hidden.

        ``--port`` is the real port once the server picked one
        (:attr:`~.process.LlamaServer.config` carries it); before that there is none
        (it was ``--port 0``, a port no server listens on, said by ``run`` as it started).
        """
        flags = redact_args(self.command(self.port or 0)[1:])
        return flags if self.port else without_port(flags)


def without_port(flags: list[str]) -> list[str]:
    """``flags`` without ``--port N`` (or ``--port=N``): a command line as recorded, so
    two runs of one set-up record the same command whichever free port each was given."""
    out: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "--port":
            skip = True
        elif not flag.startswith("--port="):
            out.append(flag)
    return out
