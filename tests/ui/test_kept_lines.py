"""A widget whose drawn lines are kept between screen updates shows every change:
new content, a new style (a class, the theme, hover), a new size."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from chat_tui.ui.kept_lines import KeptLines


class Kept(KeptLines, Static):
    DEFAULT_CSS = "Kept { height: auto; } Kept.loud { color: red; text-style: bold; } Kept:hover { background: blue; }"


class Page(App[None]):
    def compose(self) -> ComposeResult:
        yield Kept(Content("first words"))
        yield Static("below")


def rows(app: App[object]) -> list[list[tuple[str, object]]]:
    return [[(c, s.style) for s in strip for c in s.text] for strip in app.screen._compositor.render_strips()]


def fresh_rows(app: App[object]) -> list[list[tuple[str, object]]]:
    for widget in app.screen.walk_children(with_self=True):
        widget._styles_cache.clear()
        if isinstance(widget, KeptLines):
            widget.forget_lines()
    return rows(app)


async def test_kept_lines_are_not_drawn_again_while_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    render_lines = Widget.render_lines

    def counted(self: Widget, crop):  # type: ignore[no-untyped-def]
        if isinstance(self, Kept):
            drawn.append(1)
        return render_lines(self, crop)

    monkeypatch.setattr(Widget, "render_lines", counted)
    app = Page()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        drawn.clear()
        for _ in range(3):
            app.screen._compositor.render_strips()
        assert not drawn


@pytest.mark.parametrize("change", ["content", "class", "size", "theme", "hover"])
async def test_every_change_shows(change: str) -> None:
    app = Page()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        kept = app.query_one(Kept)
        before = rows(app)
        if change == "content":
            kept.update(Content("other words"), layout=False)  # the same size: only a repaint says it changed
        elif change == "class":
            kept.add_class("loud")
        elif change == "size":
            await pilot.resize_terminal(25, 6)
        elif change == "theme":
            app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        else:
            await pilot.hover(Kept)
        await pilot.pause()
        await pilot.pause()
        shown = rows(app)
        assert shown != before
        assert shown == fresh_rows(app)
