"""What the commands that read the session store share: opening it, naming a prompt.

``sessions``, ``leaderboard``, ``export-evidence``, ``judge`` and ``doctor`` open
the store without creating or repairing it (:func:`open_existing_store`;
:func:`open_store` also prints its notices, :func:`with_store` also says what went
wrong) and ``sessions``, ``leaderboard`` and ``judge`` offer and check a ``--prompt`` the same way
(:func:`add_prompt_option`, :func:`chosen_prompt`). They report a failure as one
``PROG: message`` line on stderr with exit status 1 (:meth:`.Console.fail`).
"""

from __future__ import annotations

from collections.abc import Callable

from pelican_tui.backends import locations
from pelican_tui.backends.prompt_sets import names_prompt
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import SessionStoreError, SessionStoreMissing
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import shorten
from pelican_tui.cli.args import Console, Parser


def open_existing_store() -> SessionStore:
    """The session store at :func:`~pelican_tui.backends.locations.sessions_db`, opened
    as every command that reads it opens it: not created, not repaired (a damaged file
    is left where it is: the app may have it open), and to read only where its folder
    cannot be written to (what writes to it fails, saying so). Its notices are the
    caller's to say. Raises :class:`~.records.SessionStoreMissing` when there is no
    store yet, :class:`~.records.SessionStoreError` when it cannot be used (damaged,
    too new, someone else's)."""
    return SessionStore.open(locations.sessions_db(), create=False, repair=False, read_only_ok=True)


def open_store(console: Console) -> SessionStore:
    """The session store (:func:`open_existing_store`), its notices printed as the
    command's (:meth:`.Console.note`)."""
    store = open_existing_store()
    for notice in store.notices:
        console.note(notice)
    return store


def with_store(
    console: Console,
    work: Callable[[SessionStore], int],
    *,
    missing: Callable[[SessionStoreMissing], int],
) -> int:
    """``work(store)`` on the session store (:func:`open_store`), closed afterwards;
    returns its exit status. With no store yet, ``missing(error)`` says what that
    means for the command instead. The store unusable, on opening or while ``work``
    reads it (:class:`~.records.SessionStoreError`), or one that can never be made
    where it would be (``PELICAN_HOME`` naming a file): ``PROG: why`` and exit status 1."""
    try:
        store = open_store(console)
    except SessionStoreMissing as error:
        if problem := locations.cannot_make(error.path.parent):
            return console.fail(f"the session store cannot be made at {error.path}: {problem}")
        return missing(error)
    except SessionStoreError as error:
        return console.fail(str(error))
    with store:
        try:
            return work(store)
        except SessionStoreError as error:
            return console.fail(str(error))


def quoted_prompt(prompt: str, width: int = 60) -> str:
    """A prompt for a one-line message: secrets scrubbed, white space folded,
    shortened to ``width`` characters, quoted."""
    return repr(shorten(scrub_text(prompt), width))


def add_prompt_option(parser: Parser, help: str) -> None:
    """``--prompt TEXT``: only what belongs to sessions of that prompt (``help`` says
    what, for the command), given as its text or, for a prompt set's, its name
    ("heron", or "birds/heron" as titles and the TUI name it); :func:`chosen_prompt`
    reads it."""
    parser.add_argument(
        "--prompt", metavar="TEXT", help=f"{help} (its text, or a prompt set's NAME or SET/NAME)"
    )


def chosen_prompt(store: SessionStore, given: str | None) -> tuple[str | None, str | None]:
    """The prompt ``--prompt`` names, and why it cannot be used (else None): its text
    as sessions have it, or a prompt set's prompt by name ("heron", "birds/heron").
    A name more than one set has is refused, naming them as SET/NAME; one no session
    has, as :func:`unknown_prompt` says."""
    if given is None or given in (text for text, _runs in store.prompts()):
        return given, None
    named: dict[str, str] = {}  # SET/NAME: text
    for set_name, title, text in store.set_prompts():
        shown = title.partition(" · ")[0]
        if shown.startswith(f"{set_name}/") and names_prompt(
            given, set_name, shown[len(set_name) + 1 :]
        ):
            named.setdefault(shown, text)
    texts = set(named.values())
    if len(texts) == 1:
        return texts.pop(), None
    if texts:
        return None, f"{given!r} names prompts of several sets: {', '.join(sorted(named))}"
    return None, unknown_prompt(store, given)


KNOWN_PROMPTS_SHOWN = 5
"""Prompts an unknown ``--prompt`` names, the most recently used first."""


def unknown_prompt(store: SessionStore, prompt: str | None) -> str | None:
    """Why ``--prompt`` cannot be used (no session has it), or None (it is fine, or
    not given). It names the prompts sessions have (a private set's only counted):
    ``sessions list`` shows titles ("tiny/sun · local vs claude …"), not prompts."""
    known = [text for text, _runs in store.prompts()]
    if prompt is None or prompt in known:
        return None
    why = f"no session has the prompt {quoted_prompt(prompt)}"
    public = [text for text in known if not store.is_private_prompt(text)]
    private = len(known) - len(public)
    if not known:
        return why
    named = [quoted_prompt(text) for text in public[:KNOWN_PROMPTS_SHOWN]]
    if len(public) > KNOWN_PROMPTS_SHOWN:
        named.append(f"{len(public) - KNOWN_PROMPTS_SHOWN} more")
    listed = ", ".join(named)
    if private:
        secret = f"{private} from a private prompt set"
        listed = f"{listed} (and {secret})" if listed else secret
    return f"{why}; the sessions' prompts: {listed}"


__all__ = [
    "add_prompt_option",
    "chosen_prompt",
    "open_store",
    "quoted_prompt",
    "unknown_prompt",
    "with_store",
]
