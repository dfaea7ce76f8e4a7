"""pelican-tui's themes: a warm pelican-beak orange on sea blue, dark and light.

Register them at startup with :func:`register_themes`; the app then switches
with ``app.theme = "pelican-light"`` (and remembers the choice itself).
Both themes keep body text at a contrast ratio of at least 7:1 against their
background, and accents at least 4.5:1, so they stay readable over SSH on
terminals with imperfect colour handling.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.theme import Theme

DEFAULT_THEME = "pelican-dark"
"""The theme used when the user has not chosen one."""


def _pelican_theme(
    name: str,
    *,
    dark: bool,
    primary: str,
    secondary: str,
    accent: str,
    foreground: str,
    background: str,
    surface: str,
    panel: str,
    boost: str,
    success: str,
    warning: str,
    error: str,
    muted: str,
    muted_hover: str,
    link: str,
    hover: str,
    selection: str,
    footer_on_panel: bool = False,
) -> Theme:
    """A pelican theme from its palette: both themes draw the widgets the same way.

    The block cursor, borders and the active scrollbar are ``primary``; keys and
    the input cursor ``accent``; text on a cursor or button is the ``background``
    colour. ``muted`` draws blurred borders and idle scrollbars (``muted_hover``
    under the mouse); ``hover`` and ``selection`` are how much ``primary`` tints a
    hovered row and selected input text; ``footer_on_panel``: the footer has the
    panel colour instead of Textual's default.
    """
    variables = {
        "block-cursor-background": primary,
        "block-cursor-foreground": background,
        "block-cursor-text-style": "bold",
        "block-hover-background": f"{primary} {hover}",
        "footer-key-foreground": accent,
        "footer-description-foreground": foreground,
        "input-selection-background": f"{primary} {selection}",
        "input-cursor-background": accent,
        "input-cursor-foreground": background,
        "border": primary,
        "border-blurred": muted,
        "scrollbar": muted,
        "scrollbar-hover": muted_hover,
        "scrollbar-active": primary,
        "link-color": link,
        "button-color-foreground": background,
    }
    if footer_on_panel:
        variables["footer-background"] = panel
    return Theme(
        name=name,
        primary=primary,
        secondary=secondary,
        accent=accent,
        foreground=foreground,
        background=background,
        surface=surface,
        panel=panel,
        boost=boost,
        success=success,
        warning=warning,
        error=error,
        dark=dark,
        variables=variables,
    )


PELICAN_DARK = _pelican_theme(
    "pelican-dark",
    dark=True,
    primary="#3A9AD9",  # sea blue
    secondary="#4FB3A9",  # shallow-water teal
    accent="#F5A24B",  # pelican-beak orange
    foreground="#E8E2D6",  # warm off-white, like the pelican's plumage
    background="#0E1821",  # the sea at night
    surface="#15232F",
    panel="#1D3040",
    boost="#F5A24B0F",
    success="#7CC68A",
    warning="#F2C14E",
    error="#EF6F6C",
    muted="#2A4355",
    muted_hover="#3A6D8C",
    link="#7CC0EC",
    hover="20%",
    selection="40%",
)
"""Dark: deep sea background, sand-white text, orange for keys and highlights."""

PELICAN_LIGHT = _pelican_theme(
    "pelican-light",
    dark=False,
    primary="#1C6A99",  # deeper sea blue, readable on sand
    secondary="#236A62",
    accent="#A04A08",  # burnt beak orange, dark enough for text on sand
    foreground="#1E2A33",
    background="#F7F2E7",  # sand
    surface="#EFE7D6",
    panel="#E2D6BF",
    boost="#1C6A990D",
    success="#276E2B",
    warning="#8A5A00",
    error="#B3261E",
    muted="#C9B99A",
    muted_hover="#A8946F",
    link="#1C6A99",
    hover="15%",
    selection="30%",
    footer_on_panel=True,
)
"""Light: sand background, ink text, sea blue and burnt orange."""

THEMES: list[Theme] = [PELICAN_DARK, PELICAN_LIGHT]
"""Every theme pelican-tui ships, dark first."""


def register_themes(app: App[Any]) -> None:
    """Make every pelican theme available to ``app`` (its own themes stay too)."""
    for theme in THEMES:
        app.register_theme(theme)


def theme_color(app: App[Any], variable: str, fallback: str) -> str:
    """The current theme's colour for a CSS ``variable`` (e.g. "text-warning"), as "#rrggbb".

    For Rich ``Text`` styles, which cannot use ``$variables``: plain ANSI names
    like "yellow" are unreadable on a light background.
    """
    value = getattr(app, "theme_variables", {}).get(variable, "")
    return value if isinstance(value, str) and value.startswith("#") else fallback
