"""The top bar: one line, laid out as the row of widgets it replaced, and a
new title or totals repaint it without a layout of the screen."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget

from chat_tui.ui.widgets.header_bar import DEMO_BADGE, HeaderBar


class OneBar(App[None]):
    def __init__(self, demo: bool) -> None:
        super().__init__()
        self.demo = demo

    def compose(self) -> ComposeResult:
        yield HeaderBar("openai · gpt-4.1-mini", demo=self.demo)


def line(bar: HeaderBar) -> str:
    return bar.render().plain


@pytest.mark.parametrize("demo", [False, True])
async def test_the_bar_lays_its_parts_out_across_the_width(demo: bool) -> None:
    async with OneBar(demo).run_test(size=(100, 5)) as pilot:
        bar = pilot.app.query_one(HeaderBar)
        bar.set_title("a question")
        bar.set_totals("2 answers · 20 → 3 tokens")
        await pilot.pause()
        text = line(bar)
        assert len(text) == bar.size.width == 98  # (one cell of padding on each side)
        right = "2 answers · 20 → 3 tokens  openai · gpt-4.1-mini" + (f"  {DEMO_BADGE} " if demo else "")
        assert text.startswith("chat-tui  a question ")
        assert text.endswith("  " + right)  # the title's padding, then the rest at the right edge
        bar.set_title("a long question " * 10)
        await pilot.pause()
        text = line(bar)
        assert len(text) == 98 and text.endswith("  " + right)
        title = text[len("chat-tui  ") : text.index("…")]
        assert len(title) > 8 and ("a long question " * 10).startswith(title)  # cut, with an ellipsis


async def test_a_new_title_or_totals_repaint_the_bar_without_a_layout(layouts: list[int]) -> None:
    async with OneBar(True).run_test(size=(100, 5)) as pilot:
        bar = pilot.app.query_one(HeaderBar)
        await pilot.pause()
        layouts.clear()
        bar.set_title("what is a monad")
        bar.set_totals("1 answer · 9 → 120 tokens")
        bar.set_provider("anthropic · claude")
        bar.set_demo(False)
        await pilot.pause()
        assert not layouts
        text = line(bar)
        assert "what is a monad" in text and text.endswith("1 answer · 9 → 120 tokens  anthropic · claude")


def row(app: App[object], y: int) -> list[tuple[str, object]]:
    """Row `y` of the screen as it looks: each character and its style (without
    the offsets Textual adds for selecting text, which the bar does not allow)."""
    strip = app.screen._compositor.render_strips()[y]
    return [(character, segment.style.clear_meta_and_links() if segment.style else None)
            for segment in strip for character in segment.text]


class TextualsWay(HeaderBar):
    """The same bar drawn the way Textual draws what `render()` returns."""

    render_line = Widget.render_line


@pytest.mark.parametrize("demo", [False, True])
async def test_the_bar_draws_the_cells_textual_would_draw(demo: bool) -> None:
    rows = []
    for bar_class in (HeaderBar, TextualsWay):
        class Bars(OneBar):
            def compose(self) -> ComposeResult:
                yield bar_class("openai · gpt-4.1-mini", demo=self.demo)

        async with Bars(demo).run_test(size=(70, 3)) as pilot:
            bar = pilot.app.query_one(HeaderBar)
            bar.set_title("a question whose title is too long for the bar")
            bar.set_totals("2 answers · 20 → 3 tokens")
            await pilot.pause()
            rows.append(row(pilot.app, 0))
    ours, textuals = rows
    assert "…" in "".join(c for c, _ in ours) and len(ours) == 70
    assert ours == textuals


async def test_the_line_is_drawn_again_only_when_what_it_shows_changes() -> None:
    async with OneBar(False).run_test(size=(100, 5)) as pilot:
        bar = pilot.app.query_one(HeaderBar)
        await pilot.pause()
        drawn = []
        original = bar.render

        def render() -> Text:
            drawn.append(1)
            return original()

        bar.render = render  # type: ignore[method-assign]
        bar.set_title("New conversation")  # the title it has: no repaint at all
        bar.refresh()  # a repaint (the screen's, say) with nothing new: the kept line
        await pilot.pause()
        assert not drawn
        bar.set_totals("1 answer")
        await pilot.pause()
        assert len(drawn) == 1 and "1 answer" in "".join(c for c, _ in row(pilot.app, 0))


@pytest.mark.parametrize("width", [100, 80, 70, 60, 50, 40])
async def test_a_narrow_bar_drops_the_title_then_the_totals_then_cuts_the_provider(width: int) -> None:
    """The DEMO badge always shows whole, and nothing runs into the name (at 80
    columns the badge was cut off, and a title too long for no room at all ran
    into the name: Rich cut it to "one cell less than nothing")."""
    async with OneBar(True).run_test(size=(width, 5)) as pilot:
        bar = pilot.app.query_one(HeaderBar)
        bar.set_provider("demo (offline, scripted)")
        bar.set_title("calculate 12 * (3 + 4)")
        bar.set_totals("2 answers · 17 → 46 tokens")
        await pilot.pause()
        text = line(bar)
        assert len(text) <= width - 2
        assert text.endswith(f"  {DEMO_BADGE} ")
        assert text.startswith("chat-tui ") and text[len("chat-tui ")] != "c"
        title, totals, provider = "calculate 12 * (3 + 4)", "2 answers · 17 → 46 tokens", "demo (offline, scripted)"
        if totals in text:
            assert text.index(totals) < text.index(provider)
        elif provider not in text:
            assert title[:3] not in text  # the title went first, then the totals, then the provider was cut
        if width >= 80:
            assert provider in text
