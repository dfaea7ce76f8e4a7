"""One secret policy: the same key is hidden the same way wherever it shows up.

A stored run, an export, llama-server's command line, a Claude failure message
and a child process's environment all ask :mod:`pelican_tui.backends.secrets`;
these tests put one key in each of them, and check the edges of the policy
(the minimum length, the names, the shapes) directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _anthropic_server import AnthropicTestServer
from _session_support import HOST

from pelican_tui.backends import locations, secrets
from pelican_tui.backends.anthropic_backend import ClaudeBackend
from pelican_tui.backends.events import Failed, GenerationEvent
from pelican_tui.backends.export import export_session
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.process import child_environment
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.secrets import (
    MIN_SECRET_CHARS,
    REDACTED,
    Scrubber,
    is_secret_name,
    redact_args,
    register_secret,
    scrub_secrets,
    scrub_text,
    secret_values,
    url_without_credentials,
)
from pelican_tui.backends.settings import ClaudeSettings
from pelican_tui.backends.store.records import Run, Session, scrub_session
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.render import SvgRenderer

KEY = "pasted-key-" + "Q7z" * 12
"""Matches no key shape: only its value (it is ``ANTHROPIC_API_KEY``) or its place finds it."""
SERVICE_VAR = "MY_SERVICE_API_KEY"
"""A name no list knows: the name rule alone decides that it is a secret."""


@pytest.fixture(autouse=True)
def _only_the_test_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key from the machine running the tests, nothing registered by other tests."""
    for name in secrets.KEY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(secrets, "_registered", set())
    yield


def _everything_in(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


# --------------------------------------------------------------------------- one key, everywhere


def test_the_same_key_is_hidden_the_same_way_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    args = ["-m", "m.gguf", "--api-key", KEY, "--port", "0"]

    # A stored run: in a text, under a secret-looking key, after a secret-looking flag.
    with SessionStore.open() as store:
        session = store.create_session(f"My key is {KEY}, draw a pelican")
        run = store.start_run(
            session.id,
            "left",
            "local",
            "m.gguf",
            {"server_args": args, "my_service_api_key": "short", "note": f"see {KEY}"},
            {"thinking": False},
            HOST,
        )
        store.finish_run(run, answer=f"Your key: {KEY}", failure_reason=f"401 for {KEY}")
        stored = store.get_session(session.id)
        database = _everything_in(locations.data_dir())
    [got] = stored.runs
    assert stored.prompt == f"My key is {REDACTED}, draw a pelican"
    assert got.answer == f"Your key: {REDACTED}"
    assert got.failure_reason == f"401 for {REDACTED}"
    assert got.model_info == {
        "server_args": ["-m", "m.gguf", "--api-key", REDACTED, "--port", "0"],
        "my_service_api_key": REDACTED,  # its place hides it, however short
        "note": f"see {REDACTED}",
    }
    assert KEY.encode() not in database

    # An export of it: the JSON holds the stored values, the run card shows the command.
    export_session(stored, tmp_path / "export")
    exported = json.loads((tmp_path / "export" / "session.json").read_text())
    [exported_run] = exported["runs"]
    assert exported["prompt"] == stored.prompt
    assert exported_run["answer"] == got.answer
    assert exported_run["model_info"]["server_args"] == got.model_info["server_args"]
    assert f"--api-key '{REDACTED}'" in (tmp_path / "export" / "run-card.md").read_text()
    assert KEY.encode() not in _everything_in(tmp_path / "export")

    # llama-server's command line, as shown in the log view and recorded with a run.
    config = ServerConfig(binary=Path("llama-server"), model=Path("m.gguf"), extra_args=tuple(args))
    shown = config.display_flags()
    assert shown[shown.index("--api-key") + 1] == REDACTED
    assert redact_args([f"--api-key={KEY}", f"note:{KEY}"]) == [
        f"--api-key={REDACTED}",
        f"note:{REDACTED}",
    ]
    assert KEY in secret_values(args)  # so the server's log lines lose it too

    # Children: the variables whose names say "secret" are not passed on at all
    # (LLAMA_ARG_API_KEY is a llama.cpp variable, but a secret one).
    llama_env = child_environment(
        {SERVICE_VAR: KEY, "LLAMA_ARG_API_KEY": KEY, "LLAMA_CACHE": "/c"}, "server-key"
    )
    assert llama_env == {"LLAMA_CACHE": "/c", "LLAMA_API_KEY": "server-key"}


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_the_svg_worker_gets_no_variable_with_a_secret_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SERVICE_VAR, KEY)
    monkeypatch.setenv("LLAMA_ARG_API_KEY", KEY)
    with SvgRenderer() as renderer:
        renderer.start()
        environ = Path(f"/proc/{renderer.worker_pid}/environ").read_bytes()
    names = {entry.split(b"=", 1)[0].decode() for entry in environ.split(b"\0") if entry}
    assert KEY.encode() not in environ
    assert SERVICE_VAR not in names and "LLAMA_ARG_API_KEY" not in names
    assert "PATH" in names


async def test_a_claude_failure_hides_the_same_key_the_same_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server echoes the key in its error message; Claude's key is the same KEY."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with AnthropicTestServer(scenario="500") as server:
        server.error_message = f"bad key {KEY}"
        claude = ClaudeBackend(
            ClaudeSettings.model_validate(
                {"base_url": server.base_url, "max_retries": 0, "timeout_s": 10}
            )
        )
        events = await asyncio.wait_for(_collect(claude.generate(GenerationRequest())), timeout=15)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == f"Anthropic server error (500): bad key {REDACTED}"


async def _collect(stream: AsyncIterator[GenerationEvent]) -> list[GenerationEvent]:
    return [event async for event in stream]


# --------------------------------------------------------------------------- the minimum length


def test_the_minimum_length_is_the_same_for_every_kind_of_known_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_min = "Zq8#Lm2!"
    below = at_min[:-1]
    assert (len(at_min), len(below)) == (MIN_SECRET_CHARS, MIN_SECRET_CHARS - 1)

    # From the environment.
    monkeypatch.setenv("ANTHROPIC_API_KEY", at_min)
    assert scrub_text(f"a {at_min} b") == f"a {REDACTED} b"
    monkeypatch.setenv("ANTHROPIC_API_KEY", below)
    assert scrub_text(f"a {below} b") == f"a {below} b"
    monkeypatch.delenv("ANTHROPIC_API_KEY")

    # Registered, or passed by the caller.
    register_secret(below)
    assert scrub_text(f"a {below} b") == f"a {below} b"
    register_secret(at_min)
    assert scrub_text(f"a {at_min} b") == f"a {REDACTED} b"
    assert scrub_text("a 1234567 b", ["1234567"]) == "a 1234567 b"
    assert scrub_text("a 12345678 b", ["12345678"]) == f"a {REDACTED} b"

    # Found after a flag, to scrub from a server's log.
    assert secret_values(["--api-key", at_min, "--hf-token", below]) == {at_min}

    # Where the place says "secret", the value goes whatever its length.
    assert redact_args(["--api-key", "abc", "--api-key=x"]) == [
        "--api-key",
        REDACTED,
        f"--api-key={REDACTED}",
    ]
    assert scrub_secrets({"api_key": "x"}) == {"api_key": REDACTED}


def test_the_minimum_length_holds_in_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    short = "Zq8#Lm2"
    monkeypatch.setenv("ANTHROPIC_API_KEY", short)
    with SessionStore.open() as store:
        kept = store.create_session(f"too short to hunt for: {short}")
        monkeypatch.setenv("ANTHROPIC_API_KEY", short + "!")
        hidden = store.create_session(f"long enough: {short}!")
    assert kept.prompt == f"too short to hunt for: {short}"
    assert hidden.prompt == f"long enough: {REDACTED}"


def test_an_export_copy_scrubs_every_text_and_dict_a_model_user_or_machine_wrote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session stored before the key was known: :func:`scrub_session` hides it in
    each of the run's 13 texts and dicts and the session's 3 texts, and leaves
    pelican-tui's own words and the stored session as they are."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    data = {"note": f"see {KEY}"}
    now = datetime.now(UTC)
    run = Run(
        id=1, session_id=1, slot="left", backend="local", model_id=f"m {KEY}",
        model_info=data, settings=data, thinking_text=f"t {KEY}", answer=f"a {KEY}",
        svg=f"<svg>{KEY}</svg>", svg_note=f"n {KEY}", png=None, status="failed",
        failure_reason=f"401 {KEY}", timings=data, usage=data, peak_ram=data, host=data,
        started_at=now, finished_at=None, picture_facts=data,
    )  # fmt: skip
    session = Session(
        id=1, created_at=now, prompt=f"p {KEY}", title=f"t {KEY}", verdict=None,
        runs=(run,), verdict_note=f"v {KEY}", prompt_set="pelican",
    )  # fmt: skip
    clean = scrub_session(session)
    assert KEY not in repr(clean)
    assert repr(clean).count(REDACTED) == 13 + 3
    assert (clean.runs[0].slot, clean.runs[0].backend, clean.runs[0].status) == (
        "left",
        "local",
        "failed",
    )
    assert clean.prompt_set == "pelican" and clean.runs[0].started_at == now
    assert repr(session).count(KEY) == 13 + 3  # a copy: the stored session is unchanged


def test_a_cut_off_key_is_scrubbed_but_ordinary_endings_are_not() -> None:
    scrubber = Scrubber(["abcdefghijklmnop-secret"])
    assert scrubber.text("text abcdefgh") == f"text {REDACTED}"  # MIN_SECRET_CHARS of it
    assert scrubber.text("text abcdefg") == "text abcdefg"  # one fewer: too short to be a leak
    assert scrubber.text("abcdefghij then more") == "abcdefghij then more"
    assert scrubber.text("x abcdefghijklmnop-secret") == f"x {REDACTED}"


# --------------------------------------------------------------------------- names and shapes


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "ANTHROPIC_API_KEY",
        "x-api-key",
        "--api-key",
        "--api-key=abc",
        "--api-key-file",  # a path, but to keys: hidden as well
        "--hf-token",
        "-hft",
        "accessToken",
        "NPM_AUTHTOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "Authorization",
        "DATABASE_PASSWORD",
        "SSH_AUTH_SOCK",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "private_key",
        "session_cookie",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "thinking_tokens",
        "keymap",
        "PELICAN_UI__KEYMAP",
        "XAUTHORITY",
        "TOKENIZERS_PARALLELISM",
        "tokenizer",
        "hf",
        "--hf-repo",
        "PATH",
        "PWD",
        "task-specific-finetune-name-abcdefghijklmnop",
    ],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_key_shapes_are_hidden_without_being_known() -> None:
    anthropic_key = "sk-ant-api03-" + "A1b2C3d4" * 8
    openai_key = "sk-proj-" + "Zz9" * 12
    hf_token = "hf_" + "q" * 34
    text = f"{anthropic_key} {openai_key} {hf_token} Authorization: Bearer abcdefghijklmnopqrstuvwx"
    assert scrub_text(text) == f"{REDACTED} {REDACTED} {REDACTED} Authorization: {REDACTED}"
    # Shorter look-alikes are ordinary words.
    ordinary = "sk-learn-pipeline hf_hub Bearer authentication"
    assert scrub_text(ordinary) == ordinary


def test_a_urls_user_and_password_are_hidden_in_any_text() -> None:
    """``http://user:key@host`` is how servers behind basic auth are reached; the key is
    in the URL, and so in every message, record and export that names the server."""
    text = "cannot reach http://bob:pw-123@gpu-box:8080/v1 or https://token@host/x@y"
    assert scrub_text(text) == (
        f"cannot reach http://{REDACTED}@gpu-box:8080/v1 or https://{REDACTED}@host/x@y"
    )
    assert scrub_text("http://bob:pw@rd@host") == f"http://{REDACTED}@host"
    ordinary = 'xmlns="http://www.w3.org/2000/svg" mail bob@example.com, see http://host/@me'
    assert scrub_text(ordinary) == ordinary


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://bob:pw-123@gpu-box:8080/v1", "http://gpu-box:8080/v1"),
        ("https://token@host", "https://host"),
        ("bob:pw-123@gpu-box:8080", "gpu-box:8080"),  # a setting may leave out the scheme
        (" http://u:p@[::1]:8080/v1 ", "http://[::1]:8080/v1"),
        ("http://gpu-box:8080/v1", "http://gpu-box:8080/v1"),
        ("http://host/a@b", "http://host/a@b"),  # an @ in the path is not a user
        ("http://bob:pw@rd@host:1/v1", "http://host:1/v1"),  # nor the end of a password
    ],
)
def test_a_url_is_shown_without_its_user_and_password(url: str, shown: str) -> None:
    assert url_without_credentials(url) == shown


def test_ordinary_data_is_left_alone() -> None:
    data = {
        "file": "desk-lamp-model-Q4_K_M.gguf",
        "server_args": ["-m", "x.gguf", "-c", "8192", "--temp", "0.7"],
        "thinking_tokens": 100,
        "api_key": None,
        "sampling": {"temperature": 0.7},
        "task-specific-finetune-name-abcdefghijklmnop": "kept",
    }
    assert scrub_secrets(data) == data


def test_a_live_preview_draws_the_svg_as_it_will_be_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The app previewed the answer's SVG unscrubbed: a key the stored picture hides
    was drawn on screen while the answer streamed."""
    from pelican_tui.backends.engine.run import preview_svg

    key = "sk-ant-api03-" + "P" * 40
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    answer = f'Here: <svg xmlns="http://www.w3.org/2000/svg"><text>{key}</text><circle r="4"'
    shown = preview_svg(answer)
    assert shown is not None and shown.endswith("</svg>")
    assert key not in shown and f"<text>{REDACTED}</text>" in shown
    assert preview_svg("no picture yet") is None


def test_a_known_url_password_with_a_space_is_hidden_whole_in_any_text() -> None:
    """A URL with a space in its password, given as one value (a command-line argument,
    a known URL) was hidden only where a text's key shapes found its password, which
    stop at a space: the command line stored with a run, and a message quoting the
    URL's user and password, kept them whole."""
    url = "http://alice:s3cret PW@gpu-box:8080/m.gguf"
    args = ["-m", "m.gguf", "--model-url", url, f"--mmproj-url={url}"]
    hidden = f"http://{REDACTED}@gpu-box:8080/m.gguf"
    assert redact_args(args) == ["-m", "m.gguf", "--model-url", hidden, f"--mmproj-url={hidden}"]
    assert secret_values(args) == {"alice:s3cret PW", "s3cret PW"}
    message = "401 from alice:s3cret PW@gpu-box (password 's3cret PW')"
    assert scrub_text(message, [url]) == f"401 from {REDACTED}@gpu-box (password '{REDACTED}')"
    assert scrub_text("a b c d e f g h", ["a b c d e f g h"]) == REDACTED  # an extra value
    assert redact_args(["bob@gpu-box:8080"]) == ["bob@gpu-box:8080"]  # no scheme: no URL

    with SessionStore.open() as store:
        session = store.create_session("p")
        info = {"server_args": args}
        run = store.start_run(session.id, "left", "local", "m.gguf", info, {}, HOST)
        store.finish_run(run, answer="a")
        got = store.get_run(run)
        database = _everything_in(locations.data_dir())
    assert got.model_info["server_args"] == redact_args(args)
    assert b"s3cret" not in database


def test_a_url_with_a_space_in_its_password_is_stored_without_it() -> None:
    """A URL stored before a space in a password was refused (a session of an older
    version, exported again) was stored and exported whole: what finds a password in
    text stops at a space. A URL under a ``url`` key is one value, not words."""
    url = "http://alice:s3cret PW@127.0.0.1:8080/v1"
    assert url_without_credentials(url) == "http://127.0.0.1:8080/v1"
    info = {"url": url, "baseURL": url, "server_url": url, "curl": "alice:s3cret PW@x"}
    assert scrub_secrets({"model_info": info}) == {
        "model_info": {
            "url": "http://127.0.0.1:8080/v1",
            "baseURL": "http://127.0.0.1:8080/v1",
            "server_url": "http://127.0.0.1:8080/v1",
            "curl": "alice:s3cret PW@x",  # not a URL's name
        }
    }
