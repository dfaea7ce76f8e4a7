"""pelican-tui's settings: one pydantic-settings model.

Sources, highest first: CLI flags (passed to :func:`load_settings` as
overrides), ``PELICAN_`` environment variables (``__`` for nesting, e.g.
``PELICAN_LOCAL__CONTEXT=16384``), the TOML file at
:func:`~pelican_tui.backends.locations.config_file`, then these defaults.

Settings are built in ``main()``, never at import. The Anthropic API key is not
a setting: the SDK reads ``ANTHROPIC_API_KEY`` itself and it is never written.

Unknown keys (a typo in the file, ``PELICAN_LOCAL__CONTXT``) and invalid values
are errors: :func:`load_settings` raises :class:`SettingsError` naming each
setting and what is wrong with it.
"""

from __future__ import annotations

import os
import shlex
import stat
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pelican_tui.backends import locations
from pelican_tui.backends.idle import DEFAULT_IDLE_TIMEOUT_S
from pelican_tui.backends.llama.config import (
    CONTEXT_RANGE,
    LAYERS_RANGE,
    THREADS_RANGE,
    LoadMode,
    hf_reference_problem,
)
from pelican_tui.backends.protocol import DEFAULT_PROMPT, Effort
from pelican_tui.backends.urls import has_password, server_url_problem

ImageMode = Literal["auto", "tgp", "sixel", "halfcell", "unicode"]

QWEN36_HF = "ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
"""The real target model, one setting away: ``local.hf = "..."``."""


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each bad setting, for a person."""


_STRICT = ConfigDict(extra="forbid")


class _ServerURL(BaseModel):
    """A section with the ``url`` of a server someone else runs, which remembers where
    the person gave it: hints name what they used (``--url``), not a setting they
    never set (``local.url``)."""

    URL_SETTING: ClassVar[str]
    URL_VARIABLE: ClassVar[str]
    _url_flag: str | None = PrivateAttr(default=None)

    @property
    def url_origin(self) -> str:
        """Where ``url`` was given, as hints name it: the command-line flag, else the
        environment variable when it is set (it wins over the settings file), else the
        setting in the settings file."""
        if self._url_flag:
            return self._url_flag
        return self.URL_VARIABLE if os.environ.get(self.URL_VARIABLE) else self.URL_SETTING

    def url_given_by(self, flag: str) -> None:
        """Record that ``url`` came from the command line's ``flag`` (``--url``)."""
        self._url_flag = flag

    @property
    def flag_password_warning(self) -> str | None:
        """What to say when ``url`` holds a password and was given by a command-line
        flag: it is used, but a flag's value is in the process list and the shell's
        history. The warning names the variable to use instead, never the password; each
        front end says it in its own way ("warning: …" on stderr, a notice in the app)."""
        url: str | None = getattr(self, "url", None)
        if self._url_flag is None or url is None or not has_password(url):
            return None
        return (
            f"the password in {self._url_flag} can be read by every user of this "
            f"machine in the process list, and stays in your shell's history; give the URL "
            f"in {self.URL_VARIABLE} instead ({self.URL_VARIABLE}=http://USER:PASSWORD@…)"
        )


class LocalSettings(_ServerURL):
    """The local model: a llama-server pelican-tui spawns, or one it attaches to."""

    model_config = _STRICT
    URL_SETTING = "local.url"
    URL_VARIABLE = "PELICAN_LOCAL__URL"

    model: Path | None = None
    """Path to a GGUF file. None and no ``hf``: the tiny SmolLM2 stand-in."""
    hf: str | None = None
    """A Hugging Face reference passed to ``llama-server -hf`` (e.g. the Qwen3.6 GGUF)."""
    models_dir: Path | None = None
    """A folder of GGUF files to compare with each other (two quantizations, two models).

    Each file becomes a choice for a pane (``b``), named by the file without
    ``.gguf``; one llama-server serves them all in its router mode
    (``--models-dir``), loading each on demand, so their runs take turns. The
    ones that fit in memory together stay loaded; others replace each other.
    Replaces ``model``/``hf``; ignored when ``url`` is set."""
    url: str | None = None
    """Attach to this OpenAI-compatible server instead of spawning one.

    ``http://host:8080``, with or without a trailing ``/v1`` or slash."""
    url_api_key_env: str = "PELICAN_LOCAL_API_KEY"
    """Environment variable holding the attached server's API key, if it needs one."""
    url_model: str | None = None
    """Model name to send to an attached server (None: the first it lists)."""
    llama_server: Path | None = None
    """The llama-server binary. None: PATH, then a cached build, then build one."""
    context: int = Field(default=8192, ge=CONTEXT_RANGE[0], le=CONTEXT_RANGE[1])
    """Context size passed as ``-c`` (set explicitly: llama-server may shrink unset values)."""
    threads: int | None = Field(default=None, ge=THREADS_RANGE[0], le=THREADS_RANGE[1])
    """``-t``: CPU threads for generation (None: llama-server decides)."""
    n_cpu_moe: int | None = Field(default=None, ge=LAYERS_RANGE[0], le=LAYERS_RANGE[1])
    """``--n-cpu-moe``: keep the expert weights of the first N layers on the CPU."""
    gpu_layers: int | None = Field(default=None, ge=LAYERS_RANGE[0], le=LAYERS_RANGE[1])
    """``-ngl``: layers to offload to a GPU."""
    load_mode: LoadMode | None = None
    """``--load-mode``: how weights are loaded (mmap, mlock, ...)."""
    extra_args: list[str] = Field(default_factory=list)
    """Anything else passed through to llama-server verbatim (no secret: see below)."""
    ready_timeout_s: float = 600.0
    """How long to wait for the model to load (time spent downloading an ``hf`` model
    does not count)."""
    fit: Literal["warn", "refuse", "ignore"] = "warn"
    """What to do when the memory estimate exceeds available RAM."""
    thinking: bool = True
    """Qwen thinking mode for new runs (toggled per request, no restart)."""
    max_tokens: int = Field(default=8192, ge=1)
    """Upper bound on generated tokens per answer."""
    seed: int | None = None
    """Sampling seed sent with each request, for reproducible runs (None: random)."""

    @field_validator("extra_args")
    @classmethod
    def _no_secret_on_the_command_line(cls, args: list[str]) -> list[str]:
        """A process's command line can be read by every user of the machine
        (``/proc/PID/cmdline``); llama-server's key and a download token go in its
        environment instead."""
        from pelican_tui.backends.secrets import SECRET_ARG_PROBLEM, secret_flag

        for arg in args:
            if flag := secret_flag(arg):
                raise ValueError(f"holds {flag}: {SECRET_ARG_PROBLEM}")
        return args

    @field_validator("url")
    @classmethod
    def _a_server_url(cls, url: str | None) -> str | None:
        return _server_url(url)

    @field_validator("hf")
    @classmethod
    def _an_hf_reference(cls, ref: str | None) -> str | None:
        problem = None if ref is None else hf_reference_problem(ref)
        if problem is not None:
            raise ValueError(f"is {ref!r}: {problem}")
        return ref


class RemoteSettings(_ServerURL):
    """A second OpenAI-compatible model a pane can switch to (``b``), next to the local one.

    Any server that speaks chat completions: a bigger box's llama-server, vLLM,
    a llama.cpp RPC front. With ``url`` unset the choice is not offered."""

    model_config = _STRICT
    URL_SETTING = "remote.url"
    URL_VARIABLE = "PELICAN_REMOTE__URL"

    @field_validator("url")
    @classmethod
    def _a_server_url(cls, url: str | None) -> str | None:
        return _server_url(url)

    url: str | None = None
    """The server, e.g. ``http://gpu-box:8080`` (with or without ``/v1``)."""
    model: str | None = None
    """Model name to send (None: the first the server lists)."""
    api_key_env: str = "PELICAN_REMOTE_API_KEY"
    """Environment variable holding its API key, if it needs one (never a setting)."""
    label: str | None = None
    """What the pane title calls it (None: the served model's name)."""


class ClaudeSettings(BaseModel):
    """The Claude side. The key comes from ``ANTHROPIC_API_KEY`` only."""

    model_config = _STRICT

    enabled: bool = True
    """Use Claude in the right pane when a key is set."""
    _off_flag: str | None = PrivateAttr(default=None)

    @property
    def off_origin(self) -> str | None:
        """The command-line flag that turned Claude off (``--no-claude``); None: the
        setting did, or it is on."""
        return self._off_flag

    def turned_off_by(self, flag: str) -> None:
        """Record that the command line's ``flag`` turned Claude off: messages name it,
        not a setting never set (``claude.enabled = false``)."""
        self._off_flag = flag

    model: str = "claude-opus-4-7"
    """Anthropic model id."""
    thinking: bool = True
    """Adaptive thinking with summarized display."""
    effort: Effort = "high"
    """``output_config.effort``: low, medium, high, xhigh or max."""
    max_tokens: int = Field(default=16000, ge=1)
    """Upper bound on output tokens (thinking included)."""
    base_url: str | None = None
    """Another Messages API endpoint (``ANTHROPIC_BASE_URL`` is honoured too)."""
    timeout_s: float = Field(default=600.0, gt=0)
    """Seconds one call to Claude may take in all, from sending the request to the answer's
    last event, the retries (``max_retries``) and the waits between them included; then
    it is abandoned. ``idle_timeout_s`` may end a silent answer sooner."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of a failed request (the SDK's ``max_retries``; 429 and 529 included)."""


class JudgeSettings(BaseModel):
    """An optional judge (``pelican-tui judge``): a vision-capable Claude model that votes
    on pairs of pictures blind, with the prompt and both PNGs, and says why in one line.

    Its votes are stored apart from yours and never rated with them
    (``pelican-tui leaderboard --judge`` shows its ratings). It uses the Claude
    side's key (``ANTHROPIC_API_KEY``), ``claude.base_url``, ``claude.timeout_s``
    and ``claude.max_retries``. Every judged pair is one paid API call."""

    model_config = _STRICT

    enabled: bool = False
    """Allow judge runs. Off by default: each pair judged costs an API call."""
    model: str | None = None
    """Anthropic model id of the judge; it must read images (None: ``claude.model``)."""
    max_pairs: int = Field(default=10, ge=1)
    """Pairs one judge run sends at most (``pelican-tui judge --max-pairs`` overrides it)."""
    image_px: int | None = Field(default=512, ge=64, le=1568)
    """Pictures are downscaled to at most this many pixels a side before they are sent
    (512: ~350 input tokens each instead of ~1400 at the stored 1024); None sends
    them as stored."""
    max_tokens: int = Field(default=200, ge=16)
    """Upper bound on the judge's answer (asked for: two short lines)."""


MAX_SAMPLES: Final = 1000
"""The most samples of one prompt a comparison takes (``ui.samples``, ``run --samples``)."""


class UISettings(BaseModel):
    """How the TUI looks and which keys do what."""

    model_config = _STRICT

    theme: str | None = None
    """Theme name; None: the last one chosen (remembered), else pelican-dark."""
    image_mode: ImageMode = "auto"
    """Terminal image protocol: auto-detect, or force one."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id to keys, e.g. ``{"run_both" = "ctrl+r"}``."""
    preview_fps: float = 2.0
    """How often a streaming SVG is re-rendered for the live preview."""
    stats_fps: float = 4.0
    """How often live numbers are redrawn."""
    blind: bool = False
    """Start in blind mode: after a comparison the two pictures are shown as A and B in
    random order, and which model drew which is hidden until you vote (key ``B``)."""
    samples: int = Field(default=1, ge=1, le=MAX_SAMPLES)
    """How many times each pane runs one prompt per ``r`` (one session per sample; key ``n``
    cycles 1, 2, 4, 8), and ``pelican-tui run``'s samples without ``--samples``."""


class Settings(BaseSettings):
    """All of pelican-tui's settings."""

    model_config = SettingsConfigDict(
        env_prefix="PELICAN_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    prompt: str = DEFAULT_PROMPT
    """The prompt the app starts with."""
    system_prompt: str = (
        "You draw with SVG. Answer with one complete SVG document inside a ```svg code "
        "block. Use a viewBox and keep it self-contained: no external images or fonts."
    )
    """System prompt sent to both models (the same for a fair comparison)."""
    idle_timeout_s: float | None = Field(default=DEFAULT_IDLE_TIMEOUT_S, gt=0)
    """Seconds a model's answer may send nothing before it is abandoned (None: wait forever).

    One rule for every backend (llama-server, an attached or remote server,
    Claude): after a few seconds of silence the pane says "no data for N s",
    and at this limit the run fails with "no data from <server> for N s". It
    counts the wait for the first token too, so a server busy with another
    request needs it to be generous. ``local.stream_timeout_s``, its old
    name, is still read."""
    check_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a server someone else runs (``local.url``, ``remote.url``) has for its
    check (is it there, which kind, what does it serve), all its questions together,
    and the llama-server pelican-tui runs for its answer to whether the model has a
    thinking switch. A server busy loading a model may need longer."""
    local: LocalSettings = Field(default_factory=LocalSettings)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    claude: ClaudeSettings = Field(default_factory=ClaudeSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @field_validator("prompt")
    @classmethod
    def _a_prompt(cls, prompt: str) -> str:
        """Every front end runs this prompt when it is given none: it must ask something."""
        if not prompt.strip():
            raise ValueError("is empty: give a prompt, or leave it unset for the pelican")
        return prompt.strip()

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """``local.stream_timeout_s`` (the local model's old idle limit) is ``idle_timeout_s``."""
        local = data.get("local") if isinstance(data, dict) else None
        if isinstance(local, dict) and "stream_timeout_s" in local:
            local = dict(local)
            old = local.pop("stream_timeout_s")
            data = {**data, "local": local}
            data.setdefault("idle_timeout_s", old)
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _TomlSections(settings_cls, toml_file=locations.config_file())
        return (init_settings, env_settings, toml)


class _TomlSections(TomlConfigSettingsSource):
    """The settings file, whose sections (``[local]``, ``[ui]`` …) must be tables.

    A section given as something else (``local = 5``) is refused here, as it is
    without other sources: a ``PELICAN_LOCAL__*`` variable's table would otherwise
    replace it, and the file's mistake go unsaid."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        wrong = [
            InitErrorDetails(
                type="model_type",
                loc=(name,),
                input=value,
                ctx={"class_name": field.annotation.__name__},
            )
            for name, field in Settings.model_fields.items()
            if isinstance(field.annotation, type)
            and issubclass(field.annotation, BaseModel)
            and name in data
            and not isinstance(value := data[name], dict)
        ]
        if wrong:
            raise ValidationError.from_exception_data(Settings.__name__, wrong)
        return data


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        elif value is not None:
            merged[key] = value
    return merged


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Build settings from file and environment, with CLI ``overrides`` on top.

    ``overrides`` is nested like the model (``{"local": {"context": 4096}}``);
    None values are ignored so unset CLI flags never mask the file. Raises
    :class:`SettingsError` for an unreadable file, unknown keys or bad values.
    """
    from pydantic_settings import SettingsError as SourceError

    path = locations.config_file()
    if path.is_dir():  # read as no file at all: the defaults, without a word
        raise SettingsError(f"{path} is a folder, not a settings file")
    try:
        base = Settings()
        if not overrides:
            return base
        merged = _deep_merge(base.model_dump(), overrides)
        return Settings(**merged)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    except SourceError as error:  # a PELICAN_* variable for a section, not valid JSON
        field = str(error).split('"')[1] if str(error).count('"') >= 2 else "?"
        raise SettingsError(
            f"the environment variable PELICAN_{field.upper()} is not valid JSON (or set one "
            f"setting at a time: PELICAN_{field.upper()}__NAME=value)"
        ) from None


def config_file_exposed(path: Path | None = None) -> str | None:
    """What to say when the settings file (``path``, by default
    :func:`~pelican_tui.backends.locations.config_file`) holds a secret, a server URL's
    password (``http://user:password@host``) or a key, and its group or other users of
    this machine can read it: one line that names the fix. None when it holds none, is
    this user's alone, or cannot be read (loading it says so)."""
    from pelican_tui.backends.secrets import SECRET_SHAPE

    path = path or locations.config_file()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8", errors="replace") if mode & 0o044 else ""
    except OSError:
        return None
    for found in SECRET_SHAPE.finditer(text):
        in_url = text[max(found.start() - 3, 0) : found.start()] == "://"
        if not in_url or ":" in found.group(0):  # a URL's user alone is no secret
            return (
                f"{path} holds a password or key and other users of this machine can "
                f"read it: chmod 600 {shlex.quote(str(path))}"
            )
    return None


def _server_url(url: str | None) -> str | None:
    problem = None if url is None or not url.strip() else server_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


def _shown(where: str, value: Any) -> str:
    """A wrong setting's value as an error may show it: secrets replaced (a key in a
    string meant as a list of flags, ``"--api-key KEY"``, too)."""
    from pelican_tui.backends.secrets import redact_args, scrub_secrets

    name = where.rpartition(".")[2]  # its own name: a secret-looking one hides it whole
    shown = scrub_secrets({name: value})[name]
    if isinstance(shown, str) and shown.split():
        shown = " ".join(redact_args(shown.split()))
    return repr(shown)


_WORDS = {
    "int_parsing": " is not a whole number",
    "int_type": " is not a whole number",
    "int_from_float": " is not a whole number",
    "float_parsing": " is not a number",
    "float_type": " is not a number",
    "bool_parsing": " is not true or false",
    "bool_type": " is not true or false",
    "string_type": " is not text",
    "list_type": " is not a list",
    "dict_type": " is not a table",
    "greater_than_equal": " must be at least {ge}",
    "greater_than": " must be more than {gt}",
    "less_than_equal": " must be at most {le}",
    "less_than": " must be less than {lt}",
    "literal_error": " must be {expected}",
}
"""pydantic's error types in pelican-tui's words (its own, "Input should be greater than
or equal to 1", name its grammar); a type not here keeps pydantic's message."""


def _describe(error: ValidationError) -> str:
    """Every problem on the first line (callers may show only that), the sources on the next."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        if problem["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown setting")
        elif problem["type"] == "value_error":  # this module's own words, whole
            problems.append(f"{where} {problem['ctx']['error']}")
        else:
            words = _WORDS.get(problem["type"])
            said = words.format(**problem.get("ctx", {})) if words else f": {problem['msg']}"
            problems.append(f"{where}{said} (got {_shown(where, problem.get('input'))})")
    return (
        "; ".join(problems)
        + f"\n(settings come from {locations.config_file()}, PELICAN_* environment variables"
        " with __ for nesting, e.g. PELICAN_LOCAL__CONTEXT, and command-line flags)"
    )
