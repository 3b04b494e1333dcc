"""A streaming answer taller than the transcript's view is laid out as a
window on its last lines while the transcript follows it (no layout per
frame). What the screen shows must be what it shows with the whole answer laid
out: at every frame, with its scrollbar, and after every way of scrolling away
(the transcript lays the whole answer out again first) and back."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.transcript import Transcript

SIZE = (60, 10)


def _answer() -> list[str]:
    text = "# Steps\n\n" + "".join(f"{i}. step number {i}, which does one thing\n" for i in range(1, 21))
    text += "\n```python\n" + "".join(f"x_{i} = {i} * 2\n" for i in range(20)) + "```\n\nThe end.\n"
    return [text[i:i + 20] for i in range(0, len(text), 20)]


class Conversation(App[None]):
    CSS = "#answer { height: auto; margin: 1 0; } #stats { height: 1; }"

    def compose(self) -> ComposeResult:
        with Transcript():
            yield Static("an earlier question\n\nits answer, a line or two long\n")
            with Vertical(id="answer"):
                yield Static("assistant")
                yield MarkdownStreamView(streaming=True)
                yield Static("(stats)", id="stats")


class AnswerOnly(App[None]):
    """The answer is all the transcript holds (nothing above or below it)."""

    def compose(self) -> ComposeResult:
        with Transcript():
            yield MarkdownStreamView(streaming=True)


def _screen(app: App[None]) -> list[list[tuple[str, object]]]:
    strips = app.screen._compositor.render_strips()
    return [[(c, segment.style) for segment in strip for c in segment.text] for strip in strips]


SCROLLS = {
    "wheel": "_scroll_up_for_pointer", "line": "scroll_up", "page": "scroll_page_up", "home": "scroll_home",
    "page down": "scroll_page_down", "wheel down": "_scroll_down_for_pointer", "end": "scroll_end",
}


def _scroll(app: App[None], how: str) -> None:
    transcript = app.query_one(Transcript)
    if how == "bar":
        bar = transcript.vertical_scrollbar
        transcript.release_anchor()  # what grabbing the bar does first
        transcript.scroll_to(y=bar.position - 4, animate=False)
    else:
        getattr(transcript, SCROLLS[how])(animate=False)


async def _play(
    script: list[tuple[str, str]], window: bool, app_class: type[App[None]] = Conversation
) -> tuple[list[object], int]:
    """The screens after each step, and how many frames had the answer windowed."""
    MarkdownStreamView.WINDOW = window
    app = app_class()
    screens: list[object] = []
    windowed = 0
    try:
        async with app.run_test(size=SIZE) as pilot:
            view = app.query_one(MarkdownStreamView)
            view.blink = False
            await pilot.pause()
            for kind, value in script:
                if kind == "text":
                    view.append(value)
                    view._stop_frame()
                    view._frame()  # a frame, now (not on a timer)
                    windowed += bool(view._window)
                elif kind == "scroll":
                    _scroll(app, value)
                elif kind == "resize":
                    await pilot.resize_terminal(SIZE[0], int(value))
                elif kind == "width":
                    await pilot.resize_terminal(int(value), SIZE[1])
                elif kind == "new":  # the next question and a new answer under it, which streams
                    await app.query_one(Transcript).mount_all([Static(value), MarkdownStreamView(streaming=True)])
                    view = app.query(MarkdownStreamView).last()
                    view.blink = False
                elif kind == "remove":  # the conversation goes (another one is opened)
                    await app.query_one(Transcript).remove_children()
                    await app.query_one(Transcript).mount(Static(value))
                else:
                    view.finish()
                await pilot.pause()
                screens.append(_screen(app))
    finally:
        MarkdownStreamView.WINDOW = True
    return screens, windowed


async def _compare(script: list[tuple[str, str]], app_class: type[App[None]] = Conversation) -> int:
    windowed_screens, windowed = await _play(script, True, app_class)
    whole_screens, never = await _play(script, False, app_class)
    assert never == 0
    for step, (shown, expected) in enumerate(zip(windowed_screens, whole_screens, strict=True)):
        assert shown == expected, f"step {step} {script[step]}"
    return windowed


async def test_a_windowed_answer_looks_like_the_whole_answer_laid_out() -> None:
    script = [("text", piece) for piece in _answer()] + [("finish", "")]
    assert await _compare(script) > 10  # most frames were windowed


async def test_an_answer_alone_in_the_transcript_keeps_its_scrollbar_when_windowed() -> None:
    """The window is a row taller than the screen: the transcript stays taller
    than its view, as with the whole answer laid out, and shows a scrollbar."""
    script = [("text", piece) for piece in _answer()] + [("finish", "")]
    assert await _compare(script, AnswerOnly) > 10


@pytest.mark.parametrize("how", ["wheel", "line", "page", "home", "bar"])
async def test_every_way_of_scrolling_away_and_back_shows_what_the_whole_layout_shows(how: str) -> None:
    pieces = _answer()
    script = [("text", piece) for piece in pieces[:40]]
    script += [("scroll", how)] + [("text", piece) for piece in pieces[40:46]]  # the view stays put
    script += [("scroll", how), ("scroll", "end")] + [("text", piece) for piece in pieces[46:]]  # follows again
    script += [("finish", "")]
    assert await _compare(script) > 5


async def test_a_resized_screen_keeps_the_window_as_tall_as_it() -> None:
    pieces = _answer()
    script = [("text", piece) for piece in pieces[:40]] + [("resize", "30"), ("text", pieces[40])]
    script += [("resize", "12"), ("text", pieces[41]), ("resize", "60"), ("text", pieces[42])]
    script += [("text", piece) for piece in pieces[43:]] + [("finish", "")]
    assert await _compare(script) > 5


@pytest.mark.parametrize("how", ["page down", "wheel down"])
async def test_scrolling_down_at_the_bottom_keeps_following_the_answer(how: str) -> None:
    """(Textual releases the anchor, and takes it again only if the position
    then changes: with no new text in between, the answer was no longer followed.)"""
    pieces = _answer()
    script = [("text", piece) for piece in pieces[:40]] + [("scroll", how), ("scroll", how)]
    script += [("text", piece) for piece in pieces[40:44]]
    screens, windowed = await _play(script, window=True)
    assert windowed > 5
    assert any("▋" in "".join(c for c, _ in row) for row in screens[-1])  # the newest text is on screen
    whole, _ = await _play(script, window=False)
    assert screens == whole


async def test_a_finished_answer_keeps_its_window_while_followed_and_looks_the_same(layouts: list[int]) -> None:
    """Laying it out whole at its end would cost a layout and a paint of the
    whole screen, for the same screen."""
    MarkdownStreamView.WINDOW = True
    app = Conversation()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(MarkdownStreamView)
        view.blink = False
        for piece in _answer():
            view.append(piece)
        await pilot.pause()
        view._stop_frame()
        view._frame()
        await pilot.pause()
        assert view._window
        layouts.clear()
        view.finish()
        await pilot.pause()
        assert view._window and app.query_one(Transcript).windowed is view
        assert not layouts


@pytest.mark.parametrize("how", ["wheel", "line", "page", "home", "bar"])
async def test_scrolling_a_finished_windowed_answer_shows_what_the_whole_layout_shows(how: str) -> None:
    script = [("text", piece) for piece in _answer()] + [("finish", ""), ("scroll", how), ("scroll", how)]
    script += [("scroll", "end"), ("scroll", how)]
    assert await _compare(script) > 10


async def test_a_finished_windowed_answer_at_another_width_shows_what_the_whole_layout_shows() -> None:
    script = [("text", piece) for piece in _answer()] + [("finish", ""), ("width", "45"), ("width", "90")]
    script += [("resize", "14"), ("scroll", "page"), ("scroll", "end")]
    assert await _compare(script) > 10


async def test_the_next_answer_takes_the_window_from_a_finished_one() -> None:
    pieces = _answer()
    script = [("text", piece) for piece in pieces] + [("finish", ""), ("new", "the next question")]
    script += [("text", piece) for piece in pieces[:50]] + [("finish", ""), ("scroll", "page"), ("scroll", "home")]
    script += [("scroll", "end"), ("new", "a third question"), ("text", pieces[0]), ("finish", "")]
    script += [("scroll", "line"), ("scroll", "home")]
    assert await _compare(script) > 20


async def test_a_removed_windowed_answer_leaves_no_hidden_rows() -> None:
    other = "".join(f"another conversation, line {i}\n" for i in range(30))  # with a scrollbar of its own
    script = [("text", piece) for piece in _answer()] + [("finish", ""), ("remove", other)]
    script += [("scroll", "home"), ("scroll", "end")]
    assert await _compare(script) > 10
