"""Settings: where each value comes from, and what happens when one is wrong.

Precedence, lowest first: defaults < the TOML file named by
``PELICAN_CONFIG_FILE`` < ``PELICAN_`` environment variables (``__`` nests)
< command-line overrides. The Anthropic key is never a setting.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pelican_tui.backends.settings import (
    LocalSettings,
    Settings,
    SettingsError,
    config_file_exposed,
    load_settings,
)

SECRET = "sk-ant-test-secret-0123456789"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "elsewhere" / "my-config.toml"
    path.parent.mkdir()
    monkeypatch.setenv("PELICAN_CONFIG_FILE", str(path))
    return path


def test_defaults_without_a_file(config: Path) -> None:
    assert not config.exists()
    settings = load_settings()
    assert settings.local.context == LocalSettings().context == 8192
    assert settings.claude.model == "claude-opus-4-7"


def test_each_layer_overrides_the_one_below(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text(
        'prompt = "from the file"\n'
        "[local]\n"
        "context = 4096\n"
        "threads = 2\n"
        "max_tokens = 1000\n"
        "[claude]\n"
        'effort = "low"\n'
        "[ui.keymap]\n"
        'run_both = "ctrl+r"\n'
    )
    file_only = load_settings()
    assert file_only.prompt == "from the file"
    assert (file_only.local.context, file_only.local.threads) == (4096, 2)
    assert file_only.claude.effort == "low"
    assert file_only.ui.keymap == {"run_both": "ctrl+r"}
    assert file_only.local.seed is None, "unset in the file: the default"

    monkeypatch.setenv("PELICAN_LOCAL__CONTEXT", "16384")
    monkeypatch.setenv("PELICAN_LOCAL__MAX_TOKENS", "2000")
    monkeypatch.setenv("PELICAN_CLAUDE__EFFORT", "max")
    env = load_settings()
    assert env.local.context == 16384 and env.local.max_tokens == 2000
    assert env.claude.effort == "max"
    assert env.local.threads == 2, "env for one nested key keeps the file's others"
    assert env.prompt == "from the file"

    cli = load_settings({"local": {"context": 2048, "threads": None}, "claude": {"model": "x"}})
    assert cli.local.context == 2048, "CLI beats env"
    assert cli.local.threads == 2, "a None CLI value (flag not given) masks nothing"
    assert cli.local.max_tokens == 2000, "env still beats the file"
    assert cli.claude.model == "x" and cli.claude.effort == "max"
    assert cli.ui.keymap == {"run_both": "ctrl+r"}


def test_a_nested_table_as_json_in_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_UI__KEYMAP", json.dumps({"save": "ctrl+s"}))
    assert load_settings().ui.keymap == {"save": "ctrl+s"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PELICAN_LOCAL__EXTRA_ARGS": '["--seed", "42"]'}, {"extra_args": ["--seed", "42"]}),
        ({"pelican_local__context": "777"}, {"context": 777}),
        ({"PELICAN_LOCAL": '{"context": 555, "threads": null}'}, {"context": 555, "threads": None}),
        ({"PELICAN_LOCAL": '{"context": 555}', "PELICAN_LOCAL__THREADS": "3"}, {"threads": 3}),
        ({"PELICAN_LOCAL__THINKING": "false"}, {"thinking": False, "threads": 2}),
    ],
)
def test_environment_values_as_pydantic_settings_read_them(
    config: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, Any]
) -> None:
    """Lists and whole sections as JSON, names in any case, sections merged key by key."""
    config.write_text("[local]\ncontext = 4096\nthreads = 2\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    local = load_settings().local
    assert {name: getattr(local, name) for name in expected} == expected


def test_one_key_of_a_table_in_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text('[ui.keymap]\nrun_both = "ctrl+r"\n')
    monkeypatch.setenv("PELICAN_UI__KEYMAP__SAVE", "ctrl+s")
    assert load_settings().ui.keymap == {"run_both": "ctrl+r", "save": "ctrl+s"}


@pytest.mark.parametrize(
    ("toml", "env", "fragment"),
    [
        ("[local]\ncontext = 'lots'\n", {}, "local.context is not a whole number (got 'lots')"),
        ("[local]\ncontxt = 4096\n", {}, "local.contxt: unknown setting"),
        ("[local]\nfit = 'maybe'\n", {}, "local.fit must be 'warn', 'refuse' or 'ignore'"),
        ("[local]\ncontext = 9223372036854775807\n", {}, "local.context must be at most 16777216"),
        (
            "[local]\ncontext = 100\n",
            {},
            "local.context must be at least 256 (got 100)",
        ),
        ("", {"PELICAN_LOCAL__N_CPU_MOE": "-1"}, "local.n_cpu_moe must be at least 0"),
        ("[local]\nhf = 'Qwen3.6-GGUF'\n", {}, "local.hf is 'Qwen3.6-GGUF': expected user/repo"),
        ("", {"PELICAN_LOCAL__HF": "a/b/c:Q4"}, "local.hf is 'a/b/c:Q4': expected user/repo"),
        ("idle_timeout_s = -1\n", {}, "idle_timeout_s must be more than 0"),
        # llama-server answered -5 with its own 400; 0 ran and said "cut at the 0-token limit"
        ("", {"PELICAN_LOCAL__MAX_TOKENS": "-5"}, "local.max_tokens must be at least 1"),
        ("[local]\nmax_tokens = 0\n", {}, "local.max_tokens must be at least 1 (got 0)"),
        ("[claude]\nmax_tokens = 0\n", {}, "claude.max_tokens must be at least 1"),
        ("[local]\nstream_timeout_s = -1\n", {}, "idle_timeout_s must be more than 0"),
        ("", {"PELICAN_CLAUDE__EFFORT": "extreme"}, "claude.effort must be 'low', 'medium', "),
        ("", {"PELICAN_LOCAL__CONTXT": "1"}, "local.contxt: unknown setting"),
        ("[local\ncontext = 1\n", {}, "is not valid TOML"),
    ],
)
def test_invalid_values_are_a_clear_error(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    env: dict[str, str],
    fragment: str,
) -> None:
    config.write_text(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert fragment in message.splitlines()[0], message
    assert str(config) in message
    assert "Traceback" not in message and "pydantic" not in message.lower()


def test_a_settings_file_that_cannot_be_read_says_which_and_why(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each was a library's words ("'utf-8' codec can't decode byte 0xff", "error parsing
    value for field "local" from source "EnvSettingsSource"") or, for a folder, the
    defaults without a word."""
    config.write_bytes(b"\xff\xfe[local]\n")
    with pytest.raises(SettingsError, match="^" + re.escape(f"{config} is not UTF-8 text")):
        load_settings()
    config.unlink()
    config.mkdir()
    with pytest.raises(SettingsError, match=re.escape(f"{config} is a folder, not a settings")):
        load_settings()
    config.rmdir()
    monkeypatch.setenv("PELICAN_LOCAL", "{bad")
    with pytest.raises(SettingsError, match=r"PELICAN_LOCAL is not valid JSON .*PELICAN_LOCAL__"):
        load_settings()


def test_a_bad_cli_override_is_a_clear_error(config: Path) -> None:
    with pytest.raises(SettingsError, match=r"local\.context is not a whole number"):
        load_settings({"local": {"context": "many"}})


def test_a_wrong_setting_is_shown_without_the_secret_in_it(config: Path) -> None:
    """A key in a string meant as a list of flags is still a key."""
    with pytest.raises(SettingsError) as raised:
        load_settings({"local": {"extra_args": "--api-key Pl4ntedPassw0rd"}})
    assert "local.extra_args is not a list (got '--api-key [redacted]')" in str(raised.value)


@pytest.mark.parametrize(
    "args",
    [
        ["--hf-token", "Pl4ntedTok3n"],
        ["--api-key=Pl4ntedTok3n"],
        ["-hft", "Pl4ntedTok3n"],
        ["--api-key Pl4ntedTok3n"],  # one word: the error had quoted it whole
        [" --api-key=Pl4ntedTok3n"],  # a space first had let it through
    ],
)
def test_no_secret_goes_on_llama_servers_command_line(config: Path, args: list[str]) -> None:
    """``/proc/PID/cmdline`` is readable by every user of the machine (``--server-arg``
    and ``local.extra_args`` end up there)."""
    with pytest.raises(SettingsError) as raised:
        load_settings({"local": {"extra_args": ["--jinja", *args]}})
    message = str(raised.value)
    assert "a secret on llama-server's command line" in message
    assert "Pl4ntedTok3n" not in message
    assert load_settings({"local": {"extra_args": ["--jinja"]}}).local.extra_args == ["--jinja"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:99999", "local.url has a port out of range (1-65535)"),
        ("http://[::1", "local.url is not a URL: an IPv6 address needs its closing ]"),
        ("http://bob@box:Passw0rd", "local.url has a port that is not a number"),
        ("http://bob:Pl4nted/Passw0rd@box", "local.url has a user or password with a char"),
        ("http://bob:Pl4nted#Passw0rd@box", "local.url has a user or password with a char"),
        (":8080", "local.url names no host"),
        ("ftp://box", "local.url must start with http:// or https://, not ftp://"),
    ],
)
def test_a_server_url_that_cannot_work_is_a_settings_error(
    config: Path, url: str, problem: str
) -> None:
    """It was found by httpx at the first request: a traceback in doctor and run, and
    "Something went wrong" in the app. The URL is not repeated (it may hold a password)."""
    for side in ("local", "remote"):
        with pytest.raises(SettingsError) as raised:
            load_settings({side: {"url": url}})
        message = str(raised.value).splitlines()[0]
        assert message.startswith(problem.replace("local", side)), message
        assert "Passw0rd" not in message
    assert load_settings({"local": {"url": "box:8080/v1"}}).local.url == "box:8080/v1"


def test_other_pelican_variables_are_not_settings(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paths (PELICAN_HOME, PELICAN_CACHE_DIR) and the attached server's key are
    # read elsewhere; they must not trip the unknown-setting check.
    monkeypatch.setenv("PELICAN_CACHE_DIR", str(config.parent / "cache"))
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", "remote-key")
    settings = load_settings()
    assert "remote-key" not in settings.model_dump_json()


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f"{name}.{inner}" for inner in _field_names(annotation)}
    return names


def test_the_anthropic_key_is_never_a_setting(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("PELICAN_ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("PELICAN_CLAUDE__API_KEY", "x")
    with pytest.raises(SettingsError, match=r"claude\.api_key: unknown setting"):
        load_settings()
    monkeypatch.delenv("PELICAN_CLAUDE__API_KEY")
    settings = load_settings()
    keyish = {name for name in _field_names(Settings) if "key" in name}
    assert keyish == {"local.url_api_key_env", "remote.api_key_env", "ui.keymap"}, (
        "no field holds a secret"
    )
    assert settings.local.url_api_key_env == "PELICAN_LOCAL_API_KEY", "a variable's name only"
    dumped = settings.model_dump_json()
    assert SECRET not in dumped and SECRET not in repr(settings)
    config.write_text(f'[claude]\napi_key = "{SECRET}"\n')
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "claude.api_key: unknown setting" in str(raised.value)
    assert SECRET not in str(raised.value).splitlines()[0]


def test_unset_cli_flags_mask_nothing_without_a_file(config: Path) -> None:
    """The flags a user did not give arrive as None, in sections the file does not have."""
    assert not config.exists()
    settings = load_settings(
        {"local": {"context": None, "threads": None}, "claude": {"model": None}}
    )
    assert settings.local.context == 8192
    assert settings.claude.model == "claude-opus-4-7"


@pytest.mark.parametrize("prompt", ["", "  \n\t "])
def test_an_empty_prompt_is_refused_where_every_front_end_would_run_it(
    monkeypatch: pytest.MonkeyPatch, prompt: str
) -> None:
    """The TUI ran an empty prompt setting on r with an empty prompt field; run refused it."""
    monkeypatch.setenv("PELICAN_PROMPT", prompt)
    with pytest.raises(SettingsError, match="prompt is empty: give a prompt"):
        load_settings()
    monkeypatch.setenv("PELICAN_PROMPT", "  a heron on a unicycle \n")
    assert load_settings().prompt == "a heron on a unicycle"


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ('# my key: sk-ant-api03-abcdefghijklmnop\n[claude]\nmodel = "x"\n', True),
        ('[claude]\nbase_url = "https://bob:hunter2-pw@proxy.example"\n', True),
        ('[claude]\nbase_url = "https://proxy.example"\n', False),
    ],
)
def test_a_readable_config_file_with_a_key_or_password_is_named(
    text: str, warned: bool, tmp_path: Path
) -> None:
    """A key pasted into config.toml (a comment is read by others too) or a URL's
    password; the file readable by others, and the fix is named."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o604)
    said = config_file_exposed(path)
    assert (said is not None) is warned, said
    if said:
        assert said.endswith(f"chmod 600 {path}") and "hunter2" not in said
    path.chmod(0o600)
    assert config_file_exposed(path) is None
