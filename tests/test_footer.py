"""The footer's keys are built as they are drawn: the same keys as Textual's, styled once.

(The command palette's key is Textual's own, not bound to the footer: not counted.)
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

from pelican_tui.widgets.footer import KeysFooter


def _host(footer: type[Footer]) -> App[None]:
    class Host(App[None]):
        BINDINGS = [
            Binding("f5", "run", "Run both", id="run"),
            Binding("f6", "gallery", "Gallery", id="gallery"),
            Binding("f7", "quit", "Quit", id="quit"),
        ]

        def compose(self) -> ComposeResult:
            yield Input()  # focused: the footer shows the keys once something has focus
            yield footer()

    return Host()


async def _keys(footer: type[Footer], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, int]:
    restyled: list[DOMNode] = []
    update_styles = App.update_styles

    def spy(self: App[None], node: DOMNode, animate: bool = True) -> None:
        restyled.append(node)
        update_styles(self, node, animate)

    monkeypatch.setattr(App, "update_styles", spy)
    app = _host(footer)
    async with app.run_test(size=(80, 5)) as pilot:
        footer = app.query_one(Footer)
        for _ in range(100):
            keys = list(footer.query(FooterKey))
            if keys and all(key.size.width for key in keys):
                break
            await pilot.pause(0.01)
        drawn = [(key.key, key.region, sorted(key.classes)) for key in keys]
        bound = [node for node in restyled if isinstance(node, FooterKey)]
        return drawn, sum(not key.has_class("-command-palette") for key in bound)


async def test_the_keys_are_textuals_and_are_not_styled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    textual_keys, textual_restyled = await _keys(Footer, monkeypatch)
    ours, restyled = await _keys(KeysFooter, monkeypatch)
    assert [key for key, _, _ in ours] == ["f5", "f6", "f7", "ctrl+p"]
    assert ours == textual_keys, "the same keys, at the same places, with the same classes"
    assert textual_restyled >= 3, "Textual's footer styles its keys again (compact, then not)"
    assert restyled == 0


async def test_the_keys_are_composed_with_the_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's footer recomposes a refresh after its screen signals its bindings, so the
    first frames have no keys; ours has them in the first frame and rebuilds them only when
    what they show changes."""
    recomposed: list[Footer] = []
    recompose = Footer.recompose

    async def spy(self: Footer) -> None:
        recomposed.append(self)
        await recompose(self)

    monkeypatch.setattr(Footer, "recompose", spy)
    app = _host(KeysFooter)
    async with app.run_test(size=(80, 5)) as pilot:
        footer = app.query_one(Footer)
        assert [key.key for key in footer.query(FooterKey)] == ["f5", "f6", "f7", "ctrl+p"]
        await pilot.pause()
        assert recomposed == []
        app.set_keymap({"gallery": "f8"})
        await pilot.pause()
        assert {key.key for key in footer.query(FooterKey)} == {"f5", "f8", "f7", "ctrl+p"}
        footer.show_command_palette = False
        await pilot.pause()
        assert {key.key for key in footer.query(FooterKey)} == {"f5", "f8", "f7"}


async def test_notifications_stay_above_the_status_bar_and_the_keys() -> None:
    """At 80x24 a toast covered the status bar's memory and server figures."""
    from _app_support import make_app, wait_for
    from textual.widgets._toast import Toast

    from pelican_tui.widgets.status_bar import StatusBar

    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.notify("Run a comparison first (r), or export from the sessions list (o).")
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 5)
        toast = app.screen.query_one(Toast)
        bar = app.query_one(StatusBar)
        assert toast.region.bottom <= bar.region.y, (toast.region, bar.region)


@pytest.mark.parametrize(("mode", "at_top"), [("sixel", True), ("halfcell", False)])
async def test_with_sixel_pictures_notifications_sit_at_the_top(mode: str, at_top: bool) -> None:
    """A Sixel picture is sent whole with its last row, over the cells it covers: in
    xterm a toast shown with a picture (after a blind vote) lost its top lines under
    it. Toasts sit at the top with Sixel, above where pictures end; else at the bottom."""
    from _app_support import make_app, wait_for
    from textual.widgets._toast import Toast

    app = make_app(overrides={"ui": {"image_mode": mode}})
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        app.notify("Blind vote saved")
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 5)
        await pilot.pause()
        toast = app.screen.query_one(Toast)
        assert (toast.region.y < 5) is at_top, toast.region
        assert toast.region.bottom <= 48 - 2, "never over the status bar or the keys"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_with_sixel_a_full_screen_picture_leaves_notifications_readable(
    size: tuple[int, int],
) -> None:
    """Full screen (f) the picture starts at the top: a toast there was drawn under the
    Sixel picture in xterm, an empty box. There toasts sit below the picture's text."""
    import cairosvg
    from _anthropic_server import PELICAN_SVG
    from _app_support import make_app, pictures_drawn, wait_for
    from textual.widgets._toast import Toast

    from pelican_tui.screens.picture_screen import Picture, PictureScreen

    app = make_app(overrides={"ui": {"image_mode": "sixel"}})
    async with app.run_test(size=size, notifications=True) as pilot:
        png = cairosvg.svg2png(bytestring=PELICAN_SVG.encode())
        await app.push_screen(PictureScreen([Picture("2 claude", png, "✓ 180 tok")], mode="sixel"))
        assert await pictures_drawn(pilot, app.screen)
        app.notify("Nothing is running.")
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 5)
        await pilot.pause()
        toast = app.screen.query_one(Toast)
        picture = app.screen.query_one("#picture-image")
        assert not toast.content_region.overlaps(picture.region), (toast.region, picture.region)
        assert toast.region.bottom <= size[1] - 1, "never over the keys"


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (80, "r Run both c Cancel p Prompt t Think w Pane f Picture B Blind ? Help q Quit"),
        (60, "r Run both c Cancel p Prompt t Think w Pane ? Help q Quit"),
        (40, "r Run both c Cancel ? Help q Quit"),
    ],
)
async def test_help_and_quit_are_in_the_footer_however_narrow(width: int, shown: str) -> None:
    """At 60x20 the keys were cut at the edge, "… f Picture B Blin": "? Help" and "q Quit"
    were lost. Keys that do not fit are hidden, last first, but help and quit, and none
    is cut."""
    from _app_support import make_app, wait_for
    from _evidence_support import screen_text

    def keys() -> str:
        return screen_text(app).splitlines()[-1].rstrip()

    app = make_app()
    async with app.run_test(size=(width, 20)) as pilot:
        # (the first keys are composed before the app knows it is narrow: not compact,
        # with the command palette's key)
        assert await wait_for(pilot, lambda: keys() == shown, 5), keys()
        await pilot.resize_terminal(160, 48)  # wide again: every key back
        assert await wait_for(pilot, lambda: "B Blind  ? Help  q Quit" in keys(), 5), keys()


async def test_other_screens_keep_help_and_quit_in_a_narrow_footer() -> None:
    """The gallery's keys at 60 columns ended "f Filter  b Blind  ? Help  q" (Textual's
    footer, cut at the edge): its footer now hides what does not fit, as the main one."""
    from _app_support import make_app, wait_for
    from _evidence_support import screen_text

    from pelican_tui.screens.gallery_screen import GalleryScreen

    def keys() -> str:
        return screen_text(app).splitlines()[-1].strip()

    app = make_app(overrides={"prompt": "a prompt never run"})
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("g")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
        shown = "esc Close  space Mark  ⏎ Vote  f Filter  ? Help  q Quit"
        assert await wait_for(pilot, lambda: keys() == shown, 5), keys()
