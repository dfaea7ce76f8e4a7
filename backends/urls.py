"""How a server URL as a person typed it is read: ``host:8080`` means ``http://host:8080``.

One rule for every part that reads one (settings check it, the probe finds the server's
root, the resource sampler asks whether it runs on this machine).
"""

from __future__ import annotations

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
