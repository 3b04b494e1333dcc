"""Pilot tests of the real app against a real loopback server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus, Role
from chat_tui.ui.app import ChatApp
from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner
from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.transcript import Transcript
from tests.support.app import make_app, open_store, saved_conversation
from tests.support.pilot import screen_ready, send, wait_for
from tests.support.sse_server import Reply, SSETestServer, error_reply, openai_chunk, openai_text_reply, sse

ANSWER = ["# Title\n\n", "Some **bold** text", " and a list:\n\n", "- one\n", "- two\n\n",
          "```python\n", "print('hi')\n", "```\n\n", "| a | b |\n", "|---|---|\n", "| 1 | 2 |\n"]


async def test_send_stream_and_final_text_equals_server_text(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply(ANSWER, delay=0.01))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "hello")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))
        await pilot.pause()
        view = app.screen.query_one(AssistantMessageView)
        assert view.body.text == "".join(ANSWER)
        assert not view.body.streaming
        assert view.body.document.cursor_at is None
        assert view.body.indicator is None
        assert app.screen.query_one(UserMessageView).text == "hello"
        assert "tok/s" in str(view.query_one(".stats").render())
    messages = store.messages(store.last_conversation_id())
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]
    assert messages[1].text == "".join(ANSWER)
    assert messages[1].status == MessageStatus.COMPLETE
    assert server.requests[0].body["messages"][-1] == {"role": "user", "content": "hello"}


async def test_typing_indicator_until_first_token(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[0.6, sse(openai_chunk("first")), sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hi")
        await wait_for(lambda: "Waiting for the model" in first_line(app))
        assert app.screen.query_one(AssistantMessageView).body.text == ""
        await wait_for(lambda: "first" in first_line(app))
        assert app.screen.query_one(AssistantMessageView).body.indicator is None
        assert "Waiting" not in first_line(app)


def first_line(app: ChatApp) -> str:
    """The first line of the (last) answer as shown: the typing indicator until its first text."""
    views = app.screen.query(AssistantMessageView)
    return "".join(segment.text for segment in views.last().body.render_line(0)) if views else ""


async def test_the_first_text_is_drawn_by_the_first_frame_even_before_textual_sizes_the_answer() -> None:
    """Before its first text an answer has no height, and Textual may leave such
    a widget out of its map for a while, without a size (seen when the first
    token arrives right after the new turn's first layout): the first frame must
    draw the text at the width that layout gave, not wait for a later text."""
    from textual import errors
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll

    class One(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield MarkdownStreamView(streaming=True)

    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await pilot.pause()
        assert view._rendered_width == 60  # the layout gave the (empty) answer its width
        screen = app.screen
        find_widget = screen.find_widget

        def unsized_while_empty(widget):  # type: ignore[no-untyped-def]
            if widget is view and view.document.height == 0:
                raise errors.NoWidget("not placed yet")
            return find_widget(widget)

        screen.find_widget = unsized_while_empty  # type: ignore[method-assign]
        assert view.size.width == 0
        view.append("Sure")
        await asyncio.sleep(0.1)  # a frame's time, and no more text
        await pilot.pause()
        assert view.document.height == 1
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        assert lines[0].startswith("Sure")


async def test_escape_cancels_mid_stream(server: SSETestServer, tmp_path: Path) -> None:
    pieces = [f"word{i} " for i in range(400)]
    server.queue(openai_text_reply(pieces, delay=0.02))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "go")
        await wait_for(lambda: len(app.screen.query_one(AssistantMessageView).body.text) > 30)
        await pilot.press("escape")
        await wait_for(lambda: app.screen._streaming_view is None, timeout=1.0)
        await pilot.pause()
        view = app.screen.query_one(AssistantMessageView)
        shown = view.body.text
        assert not view.body.streaming and view.body.document.cursor_at is None
        banner = view.query_one(InterruptedBanner)
        assert "Cancelled" in banner.reason
        message = store.get_message(view.message_id)
        assert message.status == MessageStatus.CANCELLED
        assert message.text == shown
        assert "Cancelled" not in message.text
        # Esc when nothing streams changes nothing.
        await pilot.press("escape")
        await pilot.pause()
        assert store.get_message(view.message_id).status == MessageStatus.CANCELLED
    await wait_for(lambda: server.disconnects >= 1, timeout=3.0)


async def test_reopening_shows_saved_conversation_with_status(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("partial answer")), 0.05], drop=True))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "question")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
    conversation_id = store.last_conversation_id()
    app2 = make_app(store, base_url=server.base_url, conversation_id=conversation_id)
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        users = app2.screen.query(UserMessageView)
        answers = app2.screen.query(AssistantMessageView)
        assert [u.text for u in users] == ["question"]
        assert answers.first().body.text == "partial answer"
        banner = answers.first().query_one(InterruptedBanner)
        assert "Connection lost" in banner.reason and "14 characters" in banner.reason


async def test_continue_extends_the_partial_answer_in_place(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("The quick brown")), 0.05], drop=True))
    server.queue(openai_text_reply([" fox jumps", " over the lazy dog."]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "sentence")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        view = app.screen.query_one(AssistantMessageView)
        children = list(view.children)
        # A cut answer: its banner, no stats line (kept hidden below it for when it ends).
        assert children.index(view.query_one(InterruptedBanner)) < children.index(view.query_one(".stats"))
        assert not view.query_one(".stats").display
        await pilot.press("ctrl+g")
        await wait_for(lambda: app.screen._streaming_view is None and not app.screen.query(InterruptedBanner))
        views = app.screen.query(AssistantMessageView)
        assert len(views) == 1
        assert views.first().body.text == "The quick brown fox jumps over the lazy dog."
        stats = views.first().query(".stats")
        assert len(stats) == 1 and stats.first().display and "first token" in str(stats.first().render())
    message = store.messages(store.last_conversation_id())[-1]
    assert message.text == "The quick brown fox jumps over the lazy dog."
    assert message.status == MessageStatus.COMPLETE


async def test_an_answer_cut_inside_a_code_block_continues_as_code(server: SSETestServer, tmp_path: Path) -> None:
    from chat_tui.ui.markdown_document import MarkdownDocument

    first = "Like this:\n\n```python\ndef f(x):\n    return"
    rest = " x * 2\n\n\nprint(f(21))\n```\n\nThat **prints** 42.\n"
    server.queue(Reply(chunks=[sse(openai_chunk(first)), 0.05], drop=True))
    server.queue(openai_text_reply([rest[:9], rest[9:30], rest[30:]]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "code please")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        await pilot.press("ctrl+g")
        await wait_for(lambda: app.screen._streaming_view is None and not app.screen.query(InterruptedBanner))
        await pilot.pause()
        body = app.screen.query_one(AssistantMessageView).body
        assert body.text == first + rest
        # Drawn as if it had never stopped: the code block goes on, the sentence after it is text.
        whole = MarkdownDocument()
        whole.append(first + rest)
        whole.render(app.console, body.size.width, final=True)
        shown = [body.document.line(y) for y in range(body.document.height)]
        assert shown == [whole.line(y) for y in range(whole.height)]
        assert not any("```" in "".join(s.text for s in line) for line in shown)


async def test_error_notice_keeps_the_typed_message(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(error_reply(401, "Incorrect API key provided"))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "my important question")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        banner = app.screen.query_one(InterruptedBanner)
        assert "401" in banner.reason and "API key" in banner.reason
        assert "\n" not in banner.reason
        assert app.screen.query_one(UserMessageView).text == "my important question"
        await pilot.press("up")
        assert app.screen.prompt.text == "my important question"
    message = store.messages(store.last_conversation_id())[0]
    assert message.text == "my important question"


def long_answer_app(server: SSETestServer, tmp_path: Path) -> ChatApp:
    """The app, with a 300-paragraph answer queued on the server (3 s at 100 pieces/s)."""
    server.queue(openai_text_reply([f"Line {i} of a long answer.\n\n" for i in range(300)], delay=0.01))
    return make_app(open_store(tmp_path), base_url=server.base_url)


def streaming_taller_than(app: ChatApp, rows: int) -> bool:
    """An answer streams, `rows` lines long. (Laid out as a window on its last
    lines while followed, the transcript's scroll range does not tell.)"""
    view = app.screen._streaming_view  # type: ignore[attr-defined]
    return view is not None and view.body.document.height > rows


async def test_view_stops_following_when_scrolled_up(server: SSETestServer, tmp_path: Path) -> None:
    app = long_answer_app(server, tmp_path)
    async with app.run_test(size=(80, 20)) as pilot:
        await send(pilot, "long")
        transcript = app.screen.query_one(Transcript)
        await wait_for(lambda: streaming_taller_than(app, 40))
        await pilot.pause()
        assert app.screen._streaming_view is not None  # still streaming
        assert transcript.scroll_y == transcript.max_scroll_y  # following
        transcript.scroll_to(y=5, animate=False)
        await pilot.pause()
        position = transcript.scroll_y
        await asyncio.sleep(0.3)
        await pilot.pause()
        assert transcript.scroll_y == position  # no jump while the answer grows
        assert transcript.max_scroll_y > position + 10
        transcript.scroll_end(animate=False)
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        assert transcript.scroll_y == transcript.max_scroll_y  # following again


async def test_untrusted_markup_shows_literally(server: SSETestServer, tmp_path: Path) -> None:
    payload = "[@click=app.quit]x[/] [bold]b[/bold] [link=file:///etc/passwd]l[/link] \x1b]52;c;aGk=\x07 [/"
    server.queue(openai_text_reply([payload]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, payload)
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))
        await pilot.pause()
        view = app.screen.query_one(AssistantMessageView).body
        rendered = "".join(view.render_line(y).text for y in range(view.document.height))
        assert "[@click=app.quit]x[/]" in rendered
        assert "\x1b" not in rendered and "␛]52" in rendered
        user = app.screen.query_one(UserMessageView)
        assert "[@click=app.quit]" in str(user.render())
        assert app.is_running


async def test_reasoning_streams_in_a_section_that_folds_when_the_answer_starts(
    server: SSETestServer, tmp_path: Path
) -> None:
    from chat_tui.ui.widgets.reasoning_view import ReasoningView

    server.queue(Reply(chunks=[
        sse(openai_chunk(reasoning_content="Let me think. ")), sse(openai_chunk(reasoning_content="Two plus two.")),
        1.5, sse(openai_chunk("The answer is 4.")), sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "2+2?")
        await wait_for(lambda: bool(app.screen.query(ReasoningView)))
        section = app.screen.query_one(ReasoningView)
        await wait_for(lambda: section.body.text == "Let me think. Two plus two.")
        assert not section.collapsed and section.title.startswith("Thinking")
        await wait_for(lambda: app.screen._streaming_view is None)
        assert section.collapsed and section.title.startswith("Thought for")
        view = app.screen.query_one(AssistantMessageView)
        assert view.body.text == "The answer is 4."
    message = store.messages(store.last_conversation_id())[-1]
    assert message.reasoning == "Let me think. Two plus two." and message.text == "The answer is 4."
    assert "Two plus two" not in server.requests[-1].body["messages"][-1]["content"]


async def test_copy_last_answer_and_code_block(tmp_path: Path) -> None:
    from chat_tui.providers.demo import CODE

    app = make_app(open_store(tmp_path))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # what reaches the terminal as OSC 52 is Textual's part
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+s")
        assert copied == []
        await send(pilot, "show me some code")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+t")
    assert copied[0] == CODE
    assert copied[1].startswith("import asyncio") and copied[1].rstrip().endswith('print(asyncio.run(fetch_all(["https://example.com"])))')


async def test_help_screen_lists_keys(tmp_path: Path) -> None:
    from chat_tui.ui.screens.help import HelpScreen

    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        for key in ("Esc", "Ctrl+R", "Ctrl+G", "Ctrl+S", "Ctrl+T", "Ctrl+O", "Ctrl+J", "F1"):
            assert key in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_retry_asks_again_in_place_and_keeps_the_old_answer(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("broken ans")), 0.05], drop=True))
    server.queue(openai_text_reply(["A fresh, ", "whole answer."]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "question")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.screen._streaming_view is None and not app.screen.query(InterruptedBanner))
        assert [v.text for v in app.screen.query(UserMessageView)] == ["question"]
        answers = app.screen.query(AssistantMessageView)
        assert [a.body.text for a in answers] == ["A fresh, whole answer."]
    messages = store.messages(store.last_conversation_id())
    assert [(m.role, m.status) for m in messages] == [
        (Role.USER, MessageStatus.COMPLETE), (Role.ASSISTANT, MessageStatus.SUPERSEDED),
        (Role.ASSISTANT, MessageStatus.COMPLETE)]
    assert messages[1].text == "broken ans"  # kept
    # The retry sent the question once, without the broken answer.
    assert server.requests[1].body["messages"] == [{"role": "user", "content": "question"}]
    app2 = make_app(store, conversation_id=store.last_conversation_id())
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [a.body.text for a in app2.screen.query(AssistantMessageView)] == ["A fresh, whole answer."]


async def test_stall_and_retry_countdown_are_shown(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(error_reply(503, "overloaded", headers={"retry-after": "1"}))
    server.queue(Reply(chunks=[sse(openai_chunk("partial")), 2.0, sse(openai_chunk(" more"))]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url, stall_timeout=0.5, retries=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hi")
        await wait_for(lambda: "retrying in" in first_line(app))
        assert "503" in first_line(app)
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner), timeout=8)
        reason = app.screen.query_one(InterruptedBanner).reason
        assert reason == "No data for 0.5 s: the stream stalled after 7 characters."


async def test_a_retry_countdown_while_continuing_shows_under_the_text(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("The quick brown")), 0.05], drop=True))
    server.queue(error_reply(503, "overloaded", headers={"retry-after": "1"}))
    server.queue(openai_text_reply([" fox."]))
    app = make_app(open_store(tmp_path), base_url=server.base_url, retries=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hi")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        await pilot.press("ctrl+g")
        body = app.screen.query_one(AssistantMessageView).body

        def line(y: int) -> str:
            return "".join(segment.text for segment in body.render_line(y))

        await wait_for(lambda: "retrying in" in line(1))
        assert line(0).startswith("The quick brown") and "503" in line(1)
        await wait_for(lambda: app.screen._streaming_view is None, timeout=8)
        await pilot.pause()
        assert body.text == "The quick brown fox." and body.indicator is None
        assert line(0).startswith("The quick brown fox.") and not line(1).strip()


async def test_settings_reach_the_app_keys_theme_and_tools(tmp_path: Path) -> None:
    from chat_tui.config import Settings
    from chat_tui.providers.demo import DemoProvider
    from chat_tui.ui.app import ChatApp

    store = open_store(tmp_path)
    settings = Settings(keys={"retry": "f5", "help": "f9", "new_conversation": "f6"}, theme="nord", tools_enabled=False)
    app = ChatApp(store=store, provider=DemoProvider(tokens_per_second=0, first_token_delay=0), settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "nord"
        assert app.engine.tools.specs() == []
        await pilot.press("f9")
        from chat_tui.ui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        shown = " ".join(str(w.render()) for w in app.screen.query(".key"))
        assert "F9" in shown and "F5" in shown and "F6" in shown and "Ctrl+N" not in shown  # the moved keys
        await pilot.press("escape")
        app.theme = "gruvbox"
        await pilot.pause()
    # The theme chosen in the app is remembered when the config names none.
    app2 = make_app(store)
    async with app2.run_test(size=(100, 30)):
        assert app2.theme == "gruvbox"


async def test_an_unknown_theme_is_a_warning_and_the_app_starts(tmp_path: Path) -> None:
    from chat_tui.config import Settings
    from chat_tui.providers.demo import DemoProvider
    from chat_tui.ui.app import ChatApp

    settings = Settings(theme="no-such-theme", keys={"help": "f9"})
    app = ChatApp(store=open_store(tmp_path), provider=DemoProvider(tokens_per_second=0, first_token_delay=0),
                  settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await screen_ready(pilot)
        assert app.theme == "textual-dark"
        assert [n.message for n in app._notifications] == [
            "Unknown theme 'no-such-theme'; see the command palette's theme list."]
        await pilot.press("f9")
        from chat_tui.ui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)


async def test_edit_last_message_and_regenerate(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply(["first answer"]), openai_text_reply(["edited answer"]),
                 openai_text_reply(["regenerated answer"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "what is a monad")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))
        await pilot.press("f2")
        assert app.screen.prompt.text == "what is a monad"
        app.screen.prompt.load_text("what is a functor")
        await pilot.press("enter")
        await wait_for(lambda: [a.body.text for a in app.screen.query(AssistantMessageView)] == ["edited answer"])
        assert [u.text for u in app.screen.query(UserMessageView)] == ["what is a functor"]
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.press("f5")
        await wait_for(lambda: [a.body.text for a in app.screen.query(AssistantMessageView)] == ["regenerated answer"])
        await wait_for(lambda: app.screen._streaming_view is None)
    assert server.requests[1].body["messages"] == [{"role": "user", "content": "what is a functor"}]
    assert server.requests[2].body["messages"] == [{"role": "user", "content": "what is a functor"}]
    messages = store.messages(store.last_conversation_id())
    current = [(m.role, m.text) for m in messages if m.status != MessageStatus.SUPERSEDED]
    assert current == [(Role.USER, "what is a functor"), (Role.ASSISTANT, "regenerated answer")]
    kept = [m.text for m in messages if m.status == MessageStatus.SUPERSEDED]
    assert kept == ["what is a monad", "first answer", "edited answer"]


async def test_conversation_totals_and_cost_in_the_header(server: SSETestServer, tmp_path: Path) -> None:
    from chat_tui.config import Prices, Settings
    from chat_tui.providers.openai_compat import OpenAICompatProvider
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.widgets.header_bar import HeaderBar

    server.queue(openai_text_reply(["one"]), openai_text_reply(["two", " three"]))
    app = ChatApp(store=open_store(tmp_path), provider=OpenAICompatProvider(base_url=server.base_url, model="m"),
                  settings=Settings(retries=0, prices=Prices(input=2.0, output=8.0)))
    async with app.run_test(size=(120, 30)) as pilot:
        for count, prompt in enumerate(("a", "b"), start=1):
            await send(pilot, prompt)
            await wait_for(lambda: app.screen._streaming_view is None
                           and len(app.screen.query(AssistantMessageView)) == count)
            await pilot.pause()
        header = app.screen.query_one(HeaderBar)
        totals = header.totals
        assert totals in str(header.render())
    # openai_text_reply reports 10 prompt tokens and one completion token per piece.
    assert totals == f"2 answers · 20 → 3 tokens · ${(20 * 2.0 + 3 * 8.0) / 1e6:.4f}"


async def test_an_answers_end_reads_its_turn_not_the_whole_conversation(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's totals are counted by the database and the answer switcher
    reads the last question's messages: an answer's end costs the same in a
    conversation of 1,000 messages as in one of 2."""
    from chat_tui.store import Store
    from chat_tui.ui.widgets.header_bar import HeaderBar

    store = open_store(tmp_path)
    cid = saved_conversation(store, 300, usage={"prompt_tokens": 10, "completion_tokens": 2})
    reply = openai_text_reply(["one", " more"])
    end = threading.Event()
    reply.chunks.insert(2, end)  # the rest of the answer and its end wait for it
    server.queue(reply)
    app = make_app(store, base_url=server.base_url, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await send(pilot, "and one more")  # (the request carries the whole conversation, read for it)
        await wait_for(lambda: app.screen._streaming_view is not None
                       and app.screen._streaming_view.body.text == "one")
        read: list[int] = []
        messages = Store.messages
        monkeypatch.setattr(Store, "messages", lambda self, conversation_id: read.append(1) or messages(
            self, conversation_id))
        end.set()
        await wait_for(lambda: app.screen._streaming_view is None and "301 answers" in app.screen.query_one(
            HeaderBar).totals)
        await pilot.pause()
        assert not read
        assert app.screen.query_one(HeaderBar).totals == "301 answers · 3,010 → 602 tokens"


async def test_a_crash_prints_one_line_and_no_local_variables(tmp_path: Path, capfd) -> None:
    """Textual's crash report would print every local (request headers, keys): ours
    is one line on the terminal and a traceback without locals in a 0600 file."""
    import os
    import stat

    import pytest

    store = open_store(tmp_path)
    app = make_app(store)

    def boom() -> None:
        secret_header = "Bearer " + "-".join(["sk", "live", "K3Y"])  # noqa: F841 - a local a crash must not print
        raise RuntimeError("a bug\nsomewhere")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(boom)
            await pilot.pause()
    printed = capfd.readouterr()
    shown = printed.out + printed.err  # (the terminal may wrap the line)
    assert "chat-tui stopped on an unexpected error (RuntimeError: a bug somewhere)" in shown.replace("\n", " ")
    assert "sk-live-K3Y" not in shown and "Traceback" not in shown
    logs = list((tmp_path / "data").glob("crash-*.log"))
    assert len(logs) == 1 and logs[0].name in shown.replace("\n", "")
    text = logs[0].read_text()
    assert "RuntimeError" in text and "boom" in text and "sk-live-K3Y" not in text
    assert stat.S_IMODE(os.stat(logs[0]).st_mode) == 0o600


async def test_retry_of_an_earlier_answer_is_refused(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("cut")), 0.05], drop=True), openai_text_reply(["second answer"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "first")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
        await send(pilot, "second")
        await wait_for(lambda: app.screen._streaming_view is None and len(app.screen.query(AssistantMessageView)) == 2)
        banner = app.screen.query_one(InterruptedBanner)
        await pilot.click(banner.query_one("#retry"))
        await pilot.pause()
        assert len(server.requests) == 2  # nothing was sent
    assert all(m.status != MessageStatus.SUPERSEDED for m in store.messages(store.last_conversation_id()))


async def test_page_keys_scroll_the_conversation_while_typing(server: SSETestServer, tmp_path: Path) -> None:
    app = long_answer_app(server, tmp_path)
    async with app.run_test(size=(80, 20)) as pilot:
        await send(pilot, "long")
        transcript = app.screen.query_one(Transcript)
        prompt = app.screen.prompt
        await wait_for(lambda: streaming_taller_than(app, 50))
        prompt.load_text("a draft\nof two lines")
        assert app.focused is prompt
        await pilot.press("pageup")
        await pilot.pause()
        position = transcript.scroll_y
        assert position < transcript.max_scroll_y - 5  # up by a page, no longer following
        await asyncio.sleep(0.3)
        await pilot.pause()
        assert transcript.scroll_y == position  # it stays while the answer grows
        assert prompt.text == "a draft\nof two lines" and app.focused is prompt
        while transcript.scroll_y < transcript.max_scroll_y:
            await pilot.press("pagedown")
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        assert transcript.scroll_y == transcript.max_scroll_y  # following again
