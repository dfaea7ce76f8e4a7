"""From settings to a running local model: which file, which server, will it fit.

:func:`plan_local` decides everything before anything is spawned (so the UI
and ``doctor`` can show it); :func:`server_config` is the llama-server command
line it implies.

An ``-hf`` reference gets the same memory-fit check as a local file when
llama.cpp already has it in its cache (:func:`find_cached_hf_model` follows
llama.cpp's ``common/hf-cache.cpp`` and ``common/download.cpp``); otherwise the
plan says plainly that the fit cannot be checked until it is downloaded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama import default_model
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.gguf_info import (
    FitVerdict,
    GGUFError,
    GGUFInfo,
    check_fit,
    estimate_memory,
    format_params,
    read_gguf_info,
)
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.settings import LocalSettings

STAND_IN_MAX_TOKENS = 1024
"""Answer limit for the tiny stand-in: it rambles up to any limit (8192 tokens took
four minutes here) and a pelican SVG needs far fewer; a real model keeps its own."""


@frozen
class LocalPlan:
    """What the local side will run, decided before spawning."""

    mode: str
    """"spawn" (pelican-tui runs llama-server) or "attach" (an existing URL)."""
    label: str
    """Short name for the pane title."""
    model_path: Path | None = None
    hf: str | None = None
    url: str | None = None
    info: GGUFInfo | None = None
    info_error: str | None = None
    fit: FitVerdict | None = None
    stand_in: bool = False
    """True for the tiny default model (labelled as such on screen)."""
    fit_note: str | None = None
    """Why there is no memory fit (an ``-hf`` model not downloaded yet), for display."""
    header_pending: bool = False
    """Planned with ``read_header=False``: the file's header (facts, memory fit, whether it
    reads at all) is still to be read by :func:`plan_local`."""

    def answer_limit(self, max_tokens: int) -> int:
        """``max_tokens`` (the ``local.max_tokens`` setting) for an answer of this model:
        capped at :data:`STAND_IN_MAX_TOKENS` for the stand-in."""
        return min(max_tokens, STAND_IN_MAX_TOKENS) if self.stand_in else max_tokens

    def start_problem(self, local: LocalSettings) -> str | None:
        """Why the local side is not started with these settings, or None: its
        :attr:`problem`, unless ``local.fit = "ignore"`` says to let llama-server try."""
        return None if local.fit == "ignore" else self.problem

    @property
    def problem(self) -> str | None:
        """Why the local side cannot start, or None."""
        if self.mode == "attach":
            return None
        if self.model_path is not None and self.info_error:
            return self.info_error
        if self.fit is not None and self.fit.level == "too_big":
            return self.fit.message
        return None

    def facts(self) -> dict[str, str]:
        """Key facts for the pane header and the session record."""
        facts: dict[str, str] = {"model": self.label}
        if self.info is not None:
            info = self.info
            facts["arch"] = info.architecture
            facts["params"] = format_params(info.total_params)
            if info.expert_count:
                facts["active"] = format_params(info.active_params)
                facts["experts"] = f"{info.expert_used_count}/{info.expert_count}"
            facts["quant"] = info.quantization
            facts["file"] = info.path.name
            facts["size"] = f"{info.file_size / 1e9:.2f} GB"
            if info.context_length:
                facts["trained_ctx"] = str(info.context_length)
        if self.hf:
            facts["hf"] = self.hf
        if self.url:
            facts["url"] = url_without_credentials(self.url)
        return facts


def uses_models_folder(local: LocalSettings) -> bool:
    """Whether the local side is the models of ``local.models_dir``. The sources of the
    local model, first first: ``url``, ``models_dir``, ``model``, ``hf``, the stand-in."""
    return local.models_dir is not None and not local.url


def uses_stand_in(local: LocalSettings) -> bool:
    """Whether the local side is the tiny default model (no other source is set)."""
    return not local.url and not uses_models_folder(local) and resolve_model_path(local)[1]


def is_stand_in(path: Path) -> bool:
    """Whether ``path`` is the tiny default model's file (named by a setting or a link
    in a models folder, it keeps its short answer limit and its label)."""
    try:
        return path.resolve() == default_model.default_model_path().resolve()
    except OSError:
        return False


def resolve_model_path(local: LocalSettings) -> tuple[Path | None, bool]:
    """The GGUF to load and whether it is the default stand-in."""
    if local.model is not None:
        path = Path(local.model).expanduser()
        return path, is_stand_in(path)
    if local.hf:
        return None, False
    return default_model.default_model_path(), True


def fit_verdict(
    info: GGUFInfo, local: LocalSettings, available: int | None = None
) -> FitVerdict | None:
    """Whether the model fits in ``available`` bytes (None: the memory free now) at
    ``local.context``, as ``local.fit`` asks: none for "ignore"; "warn" says "too big"
    as "tight" (a warning, the server still starts)."""
    if local.fit == "ignore":
        return None
    if available is None:
        import psutil  # not before the first frame: the fit is checked once the header is read

        available = psutil.virtual_memory().available
    verdict: FitVerdict | None = check_fit(estimate_memory(info, local.context), available)
    if verdict is None:
        return None
    if local.fit == "warn" and verdict.level == "too_big":
        return FitVerdict(ok=False, level="tight", message=verdict.message)
    return verdict


def _host_port(url: str) -> str:
    """``gpu-box:8080`` for ``http://user:key@gpu-box:8080/v1``: a server, named
    briefly (never with the credentials a URL may carry)."""
    return url_without_credentials(url).split("://", 1)[-1].split("/", 1)[0] or "the URL"


def plan_local(local: LocalSettings, *, read_header: bool = True) -> LocalPlan:
    """What the local side will run: which server or file, its facts, whether it fits.

    Reading the GGUF header (and importing numpy and ``gguf`` to do it) takes
    ~0.1 s; a front end that wants its first frame first plans with
    ``read_header=False`` (only what the settings say: the file or reference
    and its label, :attr:`LocalPlan.header_pending` set) and plans again, off
    the path to that frame, before anything is spawned.
    """
    if local.url:
        label = local.url_model or f"model at {_host_port(local.url)}"  # until it is asked
        return LocalPlan(mode="attach", label=label, url=local.url)
    path, stand_in = resolve_model_path(local)
    if path is None:
        if not read_header:
            ref = str(local.hf)
            return LocalPlan("spawn", ref.split("/")[-1], hf=ref, header_pending=True)
        return _plan_hf(local, str(local.hf))
    label = default_model.LABEL if stand_in else path.name.removesuffix(".gguf")
    if not read_header:
        return LocalPlan("spawn", label, model_path=path, stand_in=stand_in, header_pending=True)
    try:
        info = read_gguf_info(path)
    except GGUFError as error:
        return LocalPlan("spawn", label, model_path=path, info_error=str(error), stand_in=stand_in)
    verdict = fit_verdict(info, local)
    return LocalPlan("spawn", label, model_path=path, info=info, fit=verdict, stand_in=stand_in)


def _plan_hf(local: LocalSettings, ref: str) -> LocalPlan:
    label = ref.split("/")[-1]
    cached = find_cached_hf_model(ref)
    if cached.path is None:
        return LocalPlan("spawn", label, hf=ref, fit_note=cached.note)
    try:
        info = read_gguf_info(cached.path)
    except GGUFError as error:
        note = f"the cached copy cannot be read ({error}); memory fit not checked"
        return LocalPlan("spawn", label, hf=ref, fit_note=note)
    return LocalPlan("spawn", label, hf=ref, info=info, fit=fit_verdict(info, local))


# --------------------------------------------------------------------------- -hf cache


@frozen
class CachedHFModel:
    """Where llama.cpp would find an ``-hf`` model without downloading it."""

    cache_dir: Path
    """llama.cpp's Hugging Face cache folder (``LLAMA_CACHE`` or the HF hub default)."""
    path: Path | None
    """The GGUF llama-server would load, or None when it is not cached (or split)."""
    note: str
    """One line for a person: where it was found, or why the fit cannot be checked."""


_CACHE_ENV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("LLAMA_CACHE", ()),
    ("HF_HUB_CACHE", ()),
    ("HUGGINGFACE_HUB_CACHE", ()),
    ("HF_HOME", ("hub",)),
    ("XDG_CACHE_HOME", ("huggingface", "hub")),
    ("USERPROFILE" if os.name == "nt" else "HOME", (".cache", "huggingface", "hub")),
)
_REPO_ID = re.compile(r"^[A-Za-z0-9_]+(?:[/.-][A-Za-z0-9_]+)*$")
_SPLIT = re.compile(r"^(.+)-([0-9]{5})-of-([0-9]{5})$", re.IGNORECASE)
_NOT_A_MODEL = ("mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-")
_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")


def llama_cache_dir() -> Path:
    """llama.cpp's model cache, in the order ``hf_cache::get_cache_directory`` reads it."""
    for variable, below in _CACHE_ENV:
        value = os.environ.get(variable)
        if value:
            return Path(value).joinpath(*below)
    return Path.home() / ".cache" / "huggingface" / "hub"


def _cached_commit(repo_dir: Path) -> str | None:
    """The snapshot llama.cpp uses offline: ``refs/main``, else the first valid ref."""
    refs = repo_dir / "refs"
    try:
        entries = sorted(refs.iterdir(), key=lambda entry: (entry.name != "main", entry.name))
    except OSError:
        return None
    for entry in entries:
        try:
            lines = entry.read_text().splitlines() if entry.is_file() else []
        except OSError:
            continue
        if lines and _COMMIT.match(lines[0]):
            return lines[0]
    return None


def _split_part(name: str) -> tuple[int, int]:
    match = _SPLIT.match(name.removesuffix(".gguf"))
    return (int(match.group(2)), int(match.group(3))) if match else (1, 1)


def _best_model(files: list[str], tag: str) -> str | None:
    """``find_best_model``: the first model GGUF matching the tag (Q4_K_M, then Q8_0)."""
    models = [
        path
        for path in files
        if path.endswith(".gguf")
        and not any(word in path.rsplit("/", 1)[-1] for word in _NOT_A_MODEL)
        and _split_part(path)[0] == 1
    ]
    for wanted in [tag] if tag else ["Q4_K_M", "Q8_0"]:
        pattern = re.compile(re.escape(wanted) + "[.-]", re.IGNORECASE)
        for path in models:
            if pattern.search(path):
                return path
    return models[0] if models and not tag else None


def find_cached_hf_model(ref: str) -> CachedHFModel:
    """The file ``llama-server -hf ref`` would load from llama.cpp's cache, if it is there.

    The cache has the Hugging Face hub layout:
    ``<cache>/models--<user>--<repo>/snapshots/<commit>/<file>.gguf``, the
    commit named by ``refs/main``. The file is chosen like llama.cpp does: the
    ``:quant`` tag followed by ``.`` or ``-`` (no tag: Q4_K_M, then Q8_0, then
    any model file). Online, llama-server may pick a newer commit: this is the
    copy it falls back to, and the one a fit check can read today.
    """
    cache = llama_cache_dir()
    repo, _, tag = ref.partition(":")
    tag = tag.rsplit(":", 1)[-1]
    not_cached = (
        f"not in llama.cpp's cache ({cache}) yet: the memory fit can't be checked "
        "until llama-server has downloaded it"
    )
    if repo.count("/") != 1 or not _REPO_ID.match(repo):
        return CachedHFModel(cache, None, f"{ref!r} is not a user/repo[:quant] reference")
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    commit = _cached_commit(repo_dir)
    snapshot = repo_dir / "snapshots" / commit if commit else None
    if snapshot is None or not snapshot.is_dir():
        return CachedHFModel(cache, None, not_cached)
    files = sorted(
        entry.relative_to(snapshot).as_posix()
        for entry in snapshot.rglob("*")
        if entry.is_file() or entry.is_symlink()
    )
    best = _best_model(files, tag)
    if best is None:
        return CachedHFModel(cache, None, not_cached)
    path = snapshot / best
    parts = _split_part(best)[1]
    if parts > 1:
        return CachedHFModel(
            cache, None, f"cached as {parts} split files ({path}); memory fit not checked"
        )
    return CachedHFModel(cache, path, f"cached at {path}")


def server_config(
    local: LocalSettings,
    binary: Path,
    *,
    model: Path | None = None,
    hf: str | None = None,
    models_dir: Path | None = None,
    models_max: int | None = None,
) -> ServerConfig:
    """llama-server's command line for what it serves (one ``model`` file, an ``hf``
    reference, or in router mode every GGUF of ``models_dir``, at most ``models_max``
    loaded) with the local settings every model is started with."""
    return ServerConfig(
        binary=binary,
        model=model,
        hf=hf,
        models_dir=models_dir,
        models_max=models_max,
        context=local.context,
        threads=local.threads,
        n_cpu_moe=local.n_cpu_moe,
        gpu_layers=local.gpu_layers,
        load_mode=local.load_mode,
        extra_args=tuple(local.extra_args),
        ready_timeout_s=local.ready_timeout_s,
    )
