"""``pelican-tui doctor``: what will be used, and whether it works.

In attach mode (``--url`` / ``local.url``), and for a remote (``--remote`` /
``remote.url``), it contacts the server and lists what it serves and how
thinking is switched; an unreachable or not-ready server makes the exit code 1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Protocol

from pelican_tui.backends import locations
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.settings import Settings, config_file_exposed
from pelican_tui.backends.text import plural, printable
from pelican_tui.cli.columns import fold_line, output_width

if TYPE_CHECKING:
    from pathlib import Path

    from pelican_tui.backends.events import Failed
    from pelican_tui.backends.llama.gguf_info import GGUFInfo
    from pelican_tui.backends.llama.local_model import LocalPlan
    from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
    from pelican_tui.backends.settings import LocalSettings


MODELS_SHOWN = 8
"""The models of a server's list named on doctor's line (a server may list thousands)."""


def _folder_line(label: str, folder: Path) -> bool:
    """The line of a folder pelican-tui writes into; whether it cannot be (``!!``: the
    sessions, or the builds and downloads, would fail)."""
    problem = locations.cannot_make(folder)
    _line(label, f"{folder}: {problem}" if problem else str(folder), False if problem else None)
    return problem is not None


def _store_line() -> bool:
    """The session store's line; whether it cannot be used (``!!``: damaged, too new,
    someone else's), found by opening it as ``sessions`` and ``leaderboard`` do
    (:func:`~pelican_tui.cli.store_access.open_existing_store`)."""
    from pelican_tui.backends.store.records import SessionStoreError, SessionStoreMissing
    from pelican_tui.cli.store_access import open_existing_store

    try:
        with open_existing_store():
            pass
    except SessionStoreMissing:
        pass
    except SessionStoreError as error:
        _line("sessions", str(error), False)
        return True
    _line("sessions", str(locations.sessions_db()))
    return False


def _keymap_lines(keymap: dict[str, str]) -> bool:
    """A ``!!`` line for each ``ui.keymap`` entry that cannot work as meant, as the app
    warns of them at start; whether there was one."""
    if not keymap:
        return False
    from pelican_tui.app import keymap_problems

    problems = keymap_problems(keymap)
    for number, problem in enumerate(problems):
        _line("keys" if number == 0 else "", problem, False)
    return bool(problems)


VALUE_COLUMN = 20
"""Where a line's value starts: after its mark and its label."""


class Line(Protocol):
    """Where a check says a line, ok None for neither: doctor prints it (:func:`_line`),
    setup keeps the lines that say what cannot work."""

    def __call__(self, label: str, value: str, ok: bool | None = None) -> None: ...


def _line(label: str, value: str, ok: bool | None = None) -> None:
    """``ok label  value``, the value folded between words under itself on a terminal
    (a path and a version ran past 80 columns and wrapped to the first column)."""
    mark = {True: "ok ", False: "!! ", None: "   "}[ok]
    line = f"{mark}{label:<16} {printable(scrub_text(value))}"  # a key pasted in a setting
    print(fold_line(line, output_width(sys.stdout), hang=VALUE_COLUMN))


def image_mode_lines(setting: str) -> list[tuple[str, str]]:
    """(label, text) lines: the image mode the TUI would use, why, and what the terminal said.

    Asks the terminal once (one round trip, see :mod:`pelican_tui.terminal_caps`).
    """
    from pelican_tui.terminal_caps import IMAGE_MODES, choose_image_mode, detect_terminal

    report = detect_terminal()
    choice = choose_image_mode(report, setting)
    lines = [("image mode", f"{choice.mode} ({choice.label}): {choice.reason}")]
    if choice.forced:
        auto = choose_image_mode(report, "auto")
        lines.append(
            ("", f"auto would choose {auto.mode} ({IMAGE_MODES[auto.mode]}): {auto.reason}")
        )
    if not report.tty:
        lines.append(("terminal", "none (stdin or stdout is not a terminal; nothing asked)"))
        return lines
    who = report.who if report.name else "did not name itself (no XTVERSION answer)"
    if report.name_source:
        who += f" (from {report.name_source})"
    cell = f"{report.cell_px[0]}x{report.cell_px[1]} px" if report.cell_px else "unknown"
    answered = (
        f"answered in {report.waited_s * 1000:.0f} ms"
        if report.answered
        else f"no answer in {report.waited_s * 1000:.0f} ms"
    )
    lines.append(("terminal", who))
    lines.append(
        (
            "",
            f"Kitty graphics {'reported' if report.kitty_graphics else 'not reported'}"
            f" · Sixel {'reported' if report.sixel else 'not reported'}"
            f" · cell {cell} · {answered}",
        )
    )
    return lines


def _model_lines(plan: LocalPlan, local: LocalSettings, line: Line = _line) -> tuple[bool, bool]:
    """The lines about a model llama-server is to load; (the engine starts it, a
    warning was shown)."""
    warned = False
    if plan.hf and plan.info is None:
        line("model", f"-hf {plan.hf} (downloaded by llama-server)", None)
        line("memory fit", plan.fit_note or "not checked until downloaded", None)
    elif plan.info is not None:
        stand_in = "  [tiny stand-in]" if plan.stand_in else ""
        where = f"-hf {plan.hf}, cached at {plan.info.path}" if plan.hf else plan.model_path
        line("model", f"{where}{stand_in}", True)
        line("header", plan.info.summary(), True)
        if plan.fit is not None:  # "tight" with local.fit = "warn" may be too big
            line("memory fit", plan.fit.message, plan.fit.level == "ok")
            warned = plan.fit.level != "ok"
        line("decode ceiling", _ceiling_line(plan.info))
    else:
        line("model", plan.info_error or f"{plan.model_path}: unreadable", False)
    return plan.start_problem(local) is None, warned


def _ceiling_line(info: GGUFInfo) -> str:
    from pelican_tui.backends import hardware

    record = hardware.read_cached_bandwidth()
    if record is None:
        return "memory bandwidth not measured yet (`pelican-tui setup` measures it once)"
    ceiling = hardware.decode_ceiling_tokens_per_s(info, record.bytes_per_s)
    return (
        f"{ceiling:.0f} tok/s = {hardware.format_bandwidth(record.bytes_per_s)} memory bandwidth"
        f" / {info.bytes_per_token_read() / 1e6:.1f} MB of active weights per token"
    )


def _check_server(
    label: str, url: str, backend: OpenAICompatibleBackend, line: Line = _line
) -> tuple[bool, bool]:
    """Contact a server someone else runs; print what it is, what it serves and how
    thinking is switched. (Whether it can take a run, whether a line says "!!".)"""
    from pelican_tui.backends.protocol import GenerationRequest
    from pelican_tui.backends.secrets import url_without_credentials

    status = asyncio.run(backend.probe())
    check = backend.check
    line(label, f"attach to {url_without_credentials(url)}", None)
    line("server", status.message, status.ready)
    if status.hint:
        line("", f"hint: {status.hint}")
    if check is not None and check.reachable:
        line("server kind", check.kind.label)
        model_facts = " · ".join(check.facts.bits())
        if model_facts:
            line("model facts", model_facts)
        shown = ", ".join(check.models[:MODELS_SHOWN])
        more = len(check.models) - MODELS_SHOWN
        listed = f"{shown}, and {more} more" if more > 0 else (shown or "none listed")
        line("models", listed, bool(check.models) or None)
        if status.ready:
            line("model sent", backend.model or "(none: the server's own)")
            off = backend.dialect.switch(GenerationRequest(thinking=False))
            failed, thought = asyncio.run(_short_chat(backend))
            if thought:  # as a run's check says it (LM Studio's, some Ollama releases)
                line("thinking off", f"{off}: ignored, it thought when asked not to", False)
            else:
                line("thinking off", off, None)
            line("chat", failed.reason if failed else "a short request was answered", not failed)
            if failed is not None and failed.hint:
                line("", f"hint: {failed.hint}")
            return failed is None, thought or failed is not None
    return status.ready, not status.ready


CHAT_CHECK_S = 60.0
"""How long doctor waits for a server to answer its short chat request."""


async def _short_chat(backend: OpenAICompatibleBackend) -> tuple[Failed | None, bool]:
    """Send a server the smallest chat request (a few tokens), asked not to think: a
    listing can work where chat does not (a proxy's error page, no stream, a stream of
    pings only). (None when it was answered, whether reasoning came though asked not to.)"""
    from pelican_tui.backends.events import Failed, Finished, ThinkingDelta
    from pelican_tui.backends.protocol import GenerationRequest

    request = GenerationRequest(prompt="Say OK.", thinking=False, max_tokens=8)
    thought = False

    async def answer() -> Failed | None:
        nonlocal thought
        async for event in backend.generate(request):
            thought = thought or isinstance(event, ThinkingDelta)
            if isinstance(event, Failed):
                return event
            if isinstance(event, Finished):
                return None
        return Failed("the server ended without an answer")

    try:
        return await asyncio.wait_for(answer(), CHAT_CHECK_S), thought
    except TimeoutError:
        return Failed(f"no answer to a short request within {CHAT_CHECK_S:g} s"), thought
    finally:
        await backend.aclose()


def _check_attached(settings: Settings, line: Line) -> tuple[bool, bool]:
    from pelican_tui.backends.engine.sides import make_local_backend
    from pelican_tui.backends.llama.local_model import plan_local

    plan = plan_local(settings.local)
    backend = make_local_backend(
        settings.local, plan, binary=None, check_timeout_s=settings.check_timeout_s
    )
    return _check_server("local", settings.local.url or "", backend, line)


def _check_remote(settings: Settings) -> tuple[bool, bool]:
    from pelican_tui.backends.engine.sides import RemoteSide

    return _check_server("remote", settings.remote.url or "", RemoteSide(settings).openai)


def check_local(settings: Settings, line: Line = _line) -> tuple[bool, bool]:
    """Whether the local side can run, as doctor shows it and setup checks what it set
    up: llama-server (is it one?) and the model or models it is to load, or the
    server ``local.url`` attaches to (contacted, sent a short request). Its lines go to
    ``line``. (Whether it can run, whether a line warns.)"""
    from pelican_tui.backends.engine.comparison import plan_local_models
    from pelican_tui.backends.llama.binary import (
        ServerBinaryError,
        cached_binary_path,
        find_server_binary,
        server_version,
    )

    local_ok, warned = True, False
    if settings.local.url:
        local_ok, warned = _check_attached(settings, line)
    else:
        try:
            found = find_server_binary(settings.local.llama_server)
        except ServerBinaryError as error:
            found, local_ok = None, False
            line("llama-server", str(error), False)
        else:
            if found is None:
                local_ok = False
                line(
                    "llama-server",
                    f"not found; `bin/pelican-tui` will build it into {cached_binary_path()}",
                    False,
                )
            else:
                version = server_version(found.path)
                works = not version.startswith("unknown")  # says no version: not llama-server
                local_ok &= works
                line("llama-server", f"{found.path} ({found.source}), version {version}", works)
    plan, router = plan_local_models(settings.local)
    if router is not None:
        names = ", ".join(model.name for model in router.models)
        listed = f"{router.folder}: {plural(len(router.models), 'model')} ({names})"
        line("models folder", listed if names else str(router.problem), bool(names))
        runs = 0
        for model in router.models:
            model_plan = model.local_plan(settings.local, router.available_bytes)
            ok, warn = _model_lines(model_plan, settings.local, line)
            if not ok:
                line("", "left out of the choices (pelican-tui offers the others)")
            runs += ok
            warned |= warn or not ok
        local_ok &= runs > 0
        if runs:
            line("loaded together", f"up to {router.models_max} (--models-max)")
    elif plan.mode == "spawn":
        ok, warned = _model_lines(plan, settings.local, line)
        local_ok &= ok
    if plan.mode == "spawn":
        context = settings.local.context
        trained = plan.info.context_length if plan.info is not None else None
        if trained and context > trained:  # llama-server starts, and only its log warns
            line("context", f"{context}: more than the {trained} the model was trained on", False)
            hint = f"--ctx {trained} (or local.context) or less"
            line("", f"answers that long may go astray; hint: {hint}")
            warned = True
        else:
            line("context", str(context))
    return local_ok, warned


def run_doctor(settings: Settings) -> int:
    print("pelican-tui doctor\n")
    local_ok, warned = check_local(settings)
    remote_ok, remote_warned = _check_remote(settings) if settings.remote.url else (True, False)
    warned |= remote_warned
    for label, text in image_mode_lines(settings.ui.image_mode):
        _line(label, text)
    from pelican_tui.backends.anthropic_backend import ClaudeBackend
    from pelican_tui.backends.secrets import url_without_credentials

    base_url = url_without_credentials(os.environ.get("ANTHROPIC_BASE_URL", ""))
    status = ClaudeBackend(settings.claude).status()
    claude = (
        f"{settings.claude.model}{f' at {base_url}' if base_url else ''}, "
        "ANTHROPIC_API_KEY is set (not contacted here)"
        if status.ready
        else status.message
    )
    _line("claude", claude, status.ready or None)
    if status.hint and not status.ready:
        _line("", f"hint: {status.hint}")
    config = locations.config_file()
    _line("config file", f"{config}{'' if config.exists() else ' (not created; defaults)'}")
    if exposed := config_file_exposed(config):
        _line("", exposed, False)
        warned = True
    warned |= _folder_line("data dir", locations.data_dir())
    warned |= _store_line()
    warned |= _keymap_lines(settings.ui.keymap)
    _line("error log", str(locations.error_log_file()))
    warned |= _folder_line("cache dir", locations.cache_dir())
    print()
    if not local_ok:
        print("local side cannot run (see !! above)")
    else:
        print("local side can run" + (", but see !! above" if warned else ""))
    if not remote_ok:
        print("remote cannot run (see !! above)")
    sys.stdout.flush()
    return 0 if local_ok and remote_ok else 1
