"""The one secret policy: what looks like a secret, and what takes its place.

Everything that shows, stores, exports or hands on text asks this module: the
session store and its exports (:func:`scrub_text`, :func:`scrub_secrets`), the
llama-server command line and log (:func:`redact_args`, :func:`secret_values`,
:class:`Scrubber`), Claude's failure messages, and the environment a child
process is given (:func:`is_secret_name`). The policy:

- **One replacement**, :data:`REDACTED`.
- **One set of secret-looking names.** A dict key, a command-line flag or an
  environment variable is secret-looking when one of its words ends with one of
  :data:`SECRET_WORDS`: ``api_key``, ``--hf-token``, ``-hft``, ``accessToken``,
  ``NPM_AUTHTOKEN``, ``AWS_SECRET_ACCESS_KEY`` and ``--api-key-file`` are;
  ``max_tokens``, ``keymap`` and ``XAUTHORITY`` are not. What such a name holds
  is replaced whatever its length: a string under a secret-looking key, the
  argument after a secret-looking flag (``--api-key KEY``, ``--api-key=KEY``).
- **Key-shaped strings** are replaced wherever they appear: ``sk-ant-...``,
  ``sk-...``, ``hf_...``, ``Bearer ...``, and the user and password in a URL
  (``http://user:key@host``) (:data:`SECRET_SHAPE`), up to white space. A URL that
  is shown is shown without them (:func:`url_without_credentials`), and one that is
  a value of its own (a command-line argument) loses them up to its last ``@``,
  white space and all.
- **Known values** are replaced wherever they appear in a text, and so is the
  beginning of one at the very end of a text (a stream checkpointed part-way
  through a key, an answer cut by ``max_tokens``): the values of the key
  variables in :data:`KEY_ENV_VARS`, those given to :func:`register_secret`,
  and those a caller passes as ``extra``, whole, white space and all; a URL
  among them (or an argument of a command line, :func:`secret_values`) gives its
  user and password, and its password alone, as known values too
  (:func:`url_user_info`).
- **One minimum length**, :data:`MIN_SECRET_CHARS`: known values, values found
  after secret-looking flags for scrubbing elsewhere, and cut-off beginnings
  shorter than this are not searched for in text, because replacing a short
  string everywhere would damage ordinary text (a 4-character value would be
  cut out of every answer and every SVG path that contains it).

This module imports only the standard library, so every layer may use it.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

REDACTED: Final = "[redacted]"
"""What a secret is replaced with, everywhere: store, exports, logs, command lines, messages."""

MIN_SECRET_CHARS: Final = 8
"""Known values (and cut-off beginnings of them) shorter than this are not searched for."""

SECRET_WORDS: Final = (
    "key",
    "keys",
    "apikey",
    "token",
    "secret",
    "secrets",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "cookie",
    "cookies",
    "private",
    "hft",  # llama-server's short form of --hf-token
)
"""A name is secret-looking when one of its words ends with one of these (case-insensitive)."""

SECRET_SHAPE: Final = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{8,}"  # Anthropic keys
    r"|(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"  # OpenAI-style keys
    r"|(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"  # Hugging Face tokens
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}=*"  # Authorization header values
    r"|(?<=://)[^\s/?#\[\]]+(?=@)"  # a URL's user and password (http://user:key@host)
)
"""Strings that are keys by their shape alone."""

KEY_ENV_VARS: Final = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "PELICAN_LOCAL_API_KEY",
    "PELICAN_REMOTE_API_KEY",
)
"""Environment variables whose values are keys, searched for in every text.

Only these, not every secret-looking name: variables such as ``SSH_AUTH_SOCK``
or ``GOOGLE_APPLICATION_CREDENTIALS`` hold paths, and cutting a path out of
every text would damage ordinary messages. Register other keys with
:func:`register_secret`.
"""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_registered: set[str] = set()
_registered_lock = threading.Lock()


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """Whether a dict key, a flag (``--api-key``, ``--api-key=X``) or a variable name
    looks like it holds a secret (see :data:`SECRET_WORDS`)."""
    words = _WORD.findall(name.partition("=")[0])
    return any(word.lower().endswith(SECRET_WORDS) for word in words)


SECRET_ARG_PROBLEM: Final = (
    "a secret on llama-server's command line, which every user of this machine can read; "
    "pelican-tui gives llama-server an API key of its own, and passes HF_TOKEN from the "
    "environment on to downloads"
)
"""Why :func:`secret_flag`'s arguments are refused (``/proc/PID/cmdline`` is readable)."""


def secret_flag(arg: str) -> str | None:
    """The flag of a llama-server argument that holds a secret (``--api-key`` of
    ``" --api-key=X"``, not the value after it), None for any other argument."""
    word = arg.strip()  # " --api-key=X" reaches llama-server as --api-key too
    if word.startswith("-") and is_secret_name(word):
        return re.split(r"[=\s]", word, maxsplit=1)[0]
    return None


def register_secret(value: str) -> None:
    """Have every scrub in this process replace ``value`` wherever it appears.

    For secrets that match no shape and no key variable, e.g. a key read from a
    variable the user named. Values shorter than :data:`MIN_SECRET_CHARS` are ignored.
    """
    if len(value) >= MIN_SECRET_CHARS:
        with _registered_lock:
            _registered.add(value)


def known_secrets(extra: Iterable[str] = ()) -> list[str]:
    """The values searched for in text: key variables, registered values and ``extra``.

    At least :data:`MIN_SECRET_CHARS` long, longest first (so a secret that
    contains another is replaced whole).
    """
    values = {os.environ.get(name, "") for name in KEY_ENV_VARS}
    with _registered_lock:
        values |= _registered
    for value in extra:
        values.add(value)
        values.update(url_user_info(value))
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def secret_values(args: Sequence[str]) -> set[str]:
    """The secrets in a command line: the values of secret-looking flags and
    key-shaped strings, at least :data:`MIN_SECRET_CHARS` long.

    Pass them as ``extra`` to scrub them from what the program prints (its log).
    """
    found: set[str] = set()
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag.startswith("-") and is_secret_name(flag):
            if eq:
                found.add(value)
            elif i + 1 < len(args):
                found.add(args[i + 1])
        found.update(url_user_info(arg))
        found.update(match.group(0) for match in SECRET_SHAPE.finditer(arg))
    return {value for value in found if len(value) >= MIN_SECRET_CHARS}


class Scrubber:
    """The secrets known when it was made, applied to as many values as needed.

    Cheaper than the module functions when scrubbing many texts at once (a
    whole session, every log line of one server).
    """

    __slots__ = ("_known",)

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._known = tuple(known_secrets(extra))

    def text(self, text: str) -> str:
        """``text`` with known values, key-shaped strings and a cut-off known value replaced."""
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = SECRET_SHAPE.sub(REDACTED, text)
        return self._cut_off(text)

    def _cut_off(self, text: str) -> str:
        """``text`` with a known value's beginning at its very end replaced.

        A checkpoint of a stream can end part-way through a key (the rest
        arrives with the next checkpoint, which the whole-value match then
        catches), and so can an answer stopped by ``max_tokens``; most of a
        key is still a leak.
        """
        for secret in self._known:
            for size in range(min(len(secret) - 1, len(text)), MIN_SECRET_CHARS - 1, -1):
                if text.endswith(secret[:size]):
                    return text[:-size] + REDACTED
        return text

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` (dicts, lists, tuples, strings) with secrets replaced.

        Strings as :meth:`text`; a non-empty string under a secret-looking key;
        a URL without its user and password under a key whose last word is ``url``
        (a password with a space in it, which :meth:`text` cannot tell from words);
        in a list, the argument after a secret-looking flag. Lists come back as
        lists, other values as they are.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = str(key)
                if isinstance(item, str) and item and is_secret_name(name.strip()):
                    out[name] = REDACTED
                elif isinstance(item, str) and _WORD.findall(name)[-1:] in (["url"], ["URL"]):
                    out[name] = self.text(url_without_credentials(item))
                else:
                    out[name] = self.data(item)
            return out
        if isinstance(value, list | tuple):
            return self._args(value)
        return value

    def _args(self, items: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        hide_next = False
        for item in items:
            if hide_next and isinstance(item, str):
                out.append(REDACTED)
                hide_next = False
                continue
            hide_next = False
            if isinstance(item, str) and item.startswith("-"):
                flag, eq, _ = item.partition("=")
                if is_secret_name(flag):
                    if eq:
                        out.append(f"{flag}={REDACTED}")
                        continue
                    hide_next = True
            if isinstance(item, str):
                item = _ARG_USER_INFO.sub(rf"\1{REDACTED}@", item)
            out.append(self.data(item))
        return out

    def args(self, args: Sequence[str]) -> list[str]:
        """A command line with secret flag values, known values and key shapes replaced."""
        return [str(arg) for arg in self._args(args)]


def scrub_text(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret this module knows (and ``extra``) replaced by :data:`REDACTED`."""
    return Scrubber(extra).text(text)


def scrub_secrets(value: Any, extra: Iterable[str] = ()) -> Any:
    """A copy of JSON-like ``value`` with every secret replaced (see :meth:`Scrubber.data`)."""
    return Scrubber(extra).data(value)


def url_without_credentials(url: str) -> str:
    """``url`` as it may be shown: without a user or password in it
    (``https://user:secret@host/v1`` -> ``https://host/v1``; ``user:secret@host:8080``
    -> ``host:8080``)."""
    return _USER_INFO.sub(r"\1", url.strip())


def url_user_info(value: str) -> tuple[str, ...]:
    """The user information of a URL given as one value (``scheme://user:password@host``,
    or ``--flag=`` one), and its password alone: known values, searched for whole
    wherever they appear, a space in them too (a text's key shapes stop at one).
    ``()`` for any other value."""
    found = _ARG_USER_INFO.match(value.strip())
    if found is None:
        return ()
    info = found.group(2)
    return (info, info.partition(":")[2]) if ":" in info else (info,)


_USER_INFO: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://|)[^/?#\[\]]*@")
"""A URL's scheme (or none) and the user information after it, up to its last ``@``
(a password may hold one, and white space: the URL is one value, not a text)."""

_ARG_USER_INFO: Final = re.compile(r"^((?:-[^=]*=)?[A-Za-z][A-Za-z0-9+.\-]*://)([^/?#\[\]]*)@")
"""A command-line argument that is a URL with user information (``--flag=URL`` too):
the argument is one value, so the user information runs up to its last ``@``, white
space and all; a scheme is required (``name@host`` in an argument is no URL)."""


def redact_args(args: Sequence[str], extra: Iterable[str] = ()) -> list[str]:
    """``args`` as they may be shown or stored: ``--api-key X`` → ``--api-key [redacted]``,
    ``--api-key=X`` → ``--api-key=[redacted]``, key-shaped and known values replaced."""
    return Scrubber(extra).args(args)
