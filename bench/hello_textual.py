"""The start-up and memory baseline: the smallest Textual app with pelican-tui's footer.

Time to its first frame and its resident memory are what Textual itself costs
on this machine; pelican-tui's figures are compared with them.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static


class HelloApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "bell", "Run both"),
        Binding("q", "quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("hello")
        yield Footer()


if __name__ == "__main__":
    HelloApp().run()
