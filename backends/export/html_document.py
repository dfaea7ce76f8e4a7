"""What both HTML pages of an export share: the locked-down document and its text rules.

A page (the session's :mod:`.html_page`, the evidence's :mod:`.evidence_page`)
is one self-contained file: :func:`document` gives it a Content-Security-Policy
that forbids scripts and every remote load (pictures only as ``data:`` URIs,
:func:`data_uri`), and no referrer. Every text goes in through :func:`escape`, which
also leaves out control characters.
"""

from __future__ import annotations

import base64
import html

from pelican_tui.backends.text import printable

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
"""No script, no remote load of any kind; styles only inline, images only ``data:``."""


def escape(text: object) -> str:
    """``text`` as HTML text or attribute value (quotes escaped too), printable: the
    control characters a prompt or a model's words can hold (ESC, BEL, a carriage
    return) left out, as :func:`~pelican_tui.backends.text.printable` leaves them out
    of the terminal; the stored text keeps them."""
    return html.escape(printable(str(text)), quote=True)


def data_uri(mime: str, data: bytes) -> str:
    """``data`` as a ``data:`` URI, the only kind of image source the CSP allows."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def document(title: str, css: str, body: str) -> str:
    """The whole page: ``title`` (plain text, escaped here), the style sheet ``css``
    and ``body`` (HTML) inside the locked-down head."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f"<style>{css}</style></head><body>{body}</body></html>\n"
    )


__all__ = ["CSP", "data_uri", "document", "escape"]
