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

PELICAN_DARK = Theme(
    name="pelican-dark",
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
    dark=True,
    variables={
        "block-cursor-background": "#3A9AD9",
        "block-cursor-foreground": "#0E1821",
        "block-cursor-text-style": "bold",
        "block-hover-background": "#3A9AD9 20%",
        "footer-key-foreground": "#F5A24B",
        "footer-description-foreground": "#E8E2D6",
        "input-selection-background": "#3A9AD9 40%",
        "input-cursor-background": "#F5A24B",
        "input-cursor-foreground": "#0E1821",
        "border": "#3A9AD9",
        "border-blurred": "#2A4355",
        "scrollbar": "#2A4355",
        "scrollbar-hover": "#3A6D8C",
        "scrollbar-active": "#3A9AD9",
        "link-color": "#7CC0EC",
        "button-color-foreground": "#0E1821",
    },
)
"""Dark: deep sea background, sand-white text, orange for keys and highlights."""

PELICAN_LIGHT = Theme(
    name="pelican-light",
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
    dark=False,
    variables={
        "block-cursor-background": "#1C6A99",
        "block-cursor-foreground": "#F7F2E7",
        "block-cursor-text-style": "bold",
        "block-hover-background": "#1C6A99 15%",
        "footer-key-foreground": "#A04A08",
        "footer-description-foreground": "#1E2A33",
        "footer-background": "#E2D6BF",
        "input-selection-background": "#1C6A99 30%",
        "input-cursor-background": "#A04A08",
        "input-cursor-foreground": "#F7F2E7",
        "border": "#1C6A99",
        "border-blurred": "#C9B99A",
        "scrollbar": "#C9B99A",
        "scrollbar-hover": "#A8946F",
        "scrollbar-active": "#1C6A99",
        "link-color": "#1C6A99",
        "button-color-foreground": "#F7F2E7",
    },
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
