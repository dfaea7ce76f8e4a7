"""How a server URL as a person typed it is read: ``host:8080`` means ``http://host:8080``
(a word with neither a scheme nor a port, ``notaurl``, is not a URL).

One rule for every part that reads one (settings check it, the probe finds the server's
root, the resource sampler asks whether it runs on this machine).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import Final
from urllib.parse import SplitResult, urlsplit


def with_scheme(url: str) -> str:
    """``url`` without surrounding white space, with ``http://`` in front when it names
    no scheme (an empty one stays empty)."""
    url = url.strip()
    return f"http://{url}" if url and "://" not in url else url


def split_url(url: str) -> SplitResult:
    """``url``'s parts, read as :func:`with_scheme` reads it (raises ValueError as
    :func:`urllib.parse.urlsplit` does; ``.port`` may raise it too)."""
    return urlsplit(with_scheme(url))


def unmapped(address: str) -> str:
    """``address`` as the IPv4 address it is when it is an IPv4-mapped IPv6 one
    (``::ffff:127.0.0.1`` is ``127.0.0.1``: Python 3.11 calls the mapped loopback address
    no loopback); any other address or name as it is."""
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
    return address


def names_loopback(url: str) -> bool:
    """Whether ``url`` names this machine's loopback as it is written: ``localhost`` or a
    loopback address (``127.0.0.1``, ``::1``, ``::ffff:127.0.0.1``). No name is looked
    up: a spawned llama-server's URL is always one."""
    try:
        host = split_url(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(unmapped(host).split("%")[0]).is_loopback
    return False


def has_user(url: str) -> bool:
    """Whether ``url`` names a user (and maybe a password) for basic auth."""
    try:
        return split_url(url).username is not None
    except ValueError:
        return False


def has_password(url: str) -> bool:
    """Whether ``url`` names a password for basic auth (``http://user:password@host``)."""
    try:
        return bool(split_url(url).password)
    except ValueError:
        return False


MUST_ENCODE: Final = frozenset('"<>\\^`{|}')
"""Characters a URL may not hold as they are (besides white space and control
characters): they must be percent-encoded."""


USER_INFO_PROBLEM: Final = (
    "has a user or password with a character that must be percent-encoded: "
    "write / ? # [ ] @ as %2F %3F %23 %5B %5D %40 (and : in a user as %3A)"
)
"""What a URL whose user or password ends before its ``@`` is told (``/``, ``?`` or
``#`` end the host part, ``[`` and ``]`` belong to an IPv6 address)."""


def server_url_problem(url: str) -> str | None:
    """What is wrong with a server's URL as a person typed it (``host:8080`` is fine, a
    bare ``host`` is not: it ran, to fail as an unknown host name), in words that do not
    repeat it (it may hold a password); None when nothing is.

    A character that must be percent-encoded (a space in a password) is refused: such
    a URL is not one URL to the code that finds a password in text to hide it."""
    url = url.strip()
    if " " in url:
        return "has a space: percent-encode it as %20"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "has a tab, a line break or a control character in it"
    if any(c in MUST_ENCODE for c in url):
        return 'has a character that must be percent-encoded (one of " < > \\ ^ ` { | })'
    host_part = re.split(r"[/?#]", url.split("://", 1)[-1], maxsplit=1)[0]
    user_info, at, _ = host_part.rpartition("@")
    if ("@" in url and not at) or any(c in user_info for c in "[]"):
        return USER_INFO_PROBLEM  # it read as a port that is not a number, or an IPv6 address
    try:
        parts = split_url(url)
        port = parts.port
    except ValueError as error:
        if "IPv6" in str(error):
            return "is not a URL: an IPv6 address needs its closing ]"
        if "out of range" in str(error):
            return "has a port out of range (1-65535)"
        return "has a port that is not a number"
    if "://" not in url and port is None:
        return "is not a URL: give http://HOST, https://HOST or HOST:PORT"
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https://, not {parts.scheme}://"
    if not parts.hostname:
        return "names no host (e.g. http://127.0.0.1:8080)"
    if port == 0:
        return "has port 0; name the port the server listens on"
    return None
