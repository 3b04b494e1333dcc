"""A long saved conversation opens at its end and loads older messages on scroll."""

from __future__ import annotations

import contextlib
from pathlib import Path

from chat_tui.domain import MessageStatus, Role
from chat_tui.ui.markdown_document import MarkdownDocument
from chat_tui.ui.screens.chat import ChatScreen, EarlierMessages
from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
from chat_tui.ui.widgets.transcript import Transcript
from tests.support.app import make_app, open_store, saved_conversation
from tests.support.pilot import screen_ready, send, wait_for


def long_conversation(store, pairs: int) -> int:
    cid = store.create_conversation(provider="demo", model="demo", title="long")
    for i in range(pairs):
        store.add_message(cid, Role.USER, f"question {i}")
        mid = store.start_assistant(cid)
        store.append(mid, f"## Answer {i}\n\n" + ("Some text of the answer. " * 40) + f"\n\nEnd of answer {i}.")
        store.finish(mid, MessageStatus.COMPLETE)
    return cid


def mounted_count(screen: ChatScreen) -> int:
    return len(screen.query(UserMessageView)) + len(screen.query(AssistantMessageView))


async def test_opens_at_the_end_with_only_a_page_mounted(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = long_conversation(store, 500)  # 1,000 messages
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        transcript = screen.query_one(Transcript)
        # A page: the last messages holding about a screen and a half of text, no more.
        texts = [v.text if isinstance(v, UserMessageView) else v.body.text
                 for v in screen.query("UserMessageView, AssistantMessageView")]
        mounted = mounted_count(screen)
        assert mounted < ChatScreen.PAGE
        assert sum(map(len, texts)) >= ChatScreen.PAGE_CHARS
        assert sum(map(len, texts[1:])) < ChatScreen.PAGE_CHARS
        assert screen.query_one(EarlierMessages).count == 1000 - mounted
        assert transcript.max_scroll_y > transcript.size.height  # it fills the view: scrolling up loads more
        assert transcript.scroll_y == transcript.max_scroll_y
        assert screen.query(AssistantMessageView).last().body.text.endswith("End of answer 499.")
        assert len(screen.prompt.sent) == 500  # Up recalls from the whole history

        # Scrolling up to a screen from the top mounts the previous page above,
        # without moving what was on screen.
        first_user = screen.query(UserMessageView).first()
        transcript.scroll_to(y=0, animate=False, immediate=True)
        where = first_user.virtual_region.y  # on screen, at the top of the conversation
        await wait_for(lambda: mounted_count(screen) > mounted and not screen._loading_earlier)
        await pilot.pause()
        await pilot.pause()
        # Still where it was on screen, not pushed down by the page mounted above it.
        offset = first_user.region.y - transcript.region.y
        assert offset == where, (offset, where)
        assert transcript.scroll_y > 0
        assert screen.query_one(EarlierMessages).count == 1000 - mounted_count(screen)

        # Further up, page by page: the messages mounted are the conversation's, in order, none missing.
        for _ in range(3):
            before = mounted_count(screen)
            transcript.scroll_to(y=0, animate=False, immediate=True)
            await wait_for(lambda before=before: mounted_count(screen) > before and not screen._loading_earlier)
        questions = [int(v.text.split()[1]) for v in screen.query(UserMessageView)]
        assert questions == list(range(questions[0], 500))
        assert screen.query_one(EarlierMessages).count == 1000 - mounted_count(screen)


async def test_short_messages_fill_the_view_on_opening(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = store.create_conversation(provider="demo", model="demo", title="short")
    for i in range(100):
        store.add_message(cid, Role.USER if i % 2 == 0 else Role.ASSISTANT, f"message {i}")
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)):
        screen = app.screen
        transcript = screen.query_one(Transcript)
        await wait_for(lambda: transcript.max_scroll_y >= transcript.size.height or not screen.query(EarlierMessages))
        assert transcript.max_scroll_y >= transcript.size.height  # enough to scroll up, which loads the rest
        assert transcript.scroll_y == transcript.max_scroll_y


async def test_a_new_conversation_shows_nothing_of_the_long_one_before_it(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = long_conversation(store, 100)
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query(EarlierMessages)
        await pilot.press("ctrl+n")
        for _ in range(5):
            await pilot.pause()
        assert mounted_count(screen) == 0
        assert not screen.query(EarlierMessages)


async def test_older_messages_are_rendered_ahead_of_scrolling_back(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = long_conversation(store, 100)
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        # While nothing happens, the next older answers get rendered, at the width they will have.
        await wait_for(lambda: len(screen._prepared) >= 4 and screen._prefetch_timer is None, timeout=10)
        width = screen.query(AssistantMessageView).last().body.size.width
        prepared = [v for v in screen._prepared.values() if isinstance(v, AssistantMessageView)]
        assert prepared and all(v.body.document.finished_line_count > 0 for v in prepared)
        assert all(v.body.document._width == width for v in prepared)
        # Scrolling back mounts those very views; what they show equals a fresh render.
        ids = set(screen._prepared)
        before = mounted_count(screen)
        screen.transcript.scroll_to(y=0, animate=False, immediate=True)
        await wait_for(lambda: mounted_count(screen) > before and not screen._loading_earlier)
        await pilot.pause()
        mounted = [v for v in screen.query(AssistantMessageView) if v.message_id in ids]
        assert mounted
        for view in mounted:
            fresh = MarkdownDocument()
            fresh.append(view.body.text)
            fresh.render(app.console, width, final=True)
            assert [fresh.line(y) for y in range(fresh.height)] == [
                view.body.document.line(y) for y in range(view.body.document.height)]


def chatty_conversation(tmp_path: Path):  # noqa: ANN201
    """A store with 20 short questions and answers: a page (30 of the 40) is mounted on opening."""
    store = open_store(tmp_path)
    return store, saved_conversation(store, 20)


@contextlib.asynccontextmanager
async def chatty_app(tmp_path: Path):  # noqa: ANN201
    """The app on `chatty_conversation`, its first page mounted."""
    store, cid = chatty_conversation(tmp_path)
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        await screen_ready(pilot)
        assert mounted_count(app.screen) == ChatScreen.PAGE
        yield app, pilot


async def test_a_long_session_keeps_few_messages_mounted_and_loses_none(tmp_path: Path) -> None:
    """Chatting on in a long conversation: when a question is sent, the oldest
    mounted messages are unmounted (every mounted widget is laid out at each
    frame of a streaming answer), the last ones still fill the view; scrolling
    up brings them all back, in order."""
    async with chatty_app(tmp_path) as (app, pilot):
        screen = app.screen
        await send(pilot, "question 20")
        await wait_for(lambda: screen._streaming_view is None and screen.query(UserMessageView).last().text == "question 20")
        await pilot.pause()
        transcript = screen.query_one(Transcript)
        mounted = mounted_count(screen)
        assert mounted <= ChatScreen.PAGE + 2 - ChatScreen.RETIRE_AT_LEAST
        # The last messages stayed (then the new question and its answer), and they fill the view.
        questions = [v.text for v in screen.query(UserMessageView)]
        assert questions == [f"question {i}" for i in range(21 - len(questions), 21)]
        assert screen.query_one(EarlierMessages).count == 42 - mounted
        assert transcript.max_scroll_y > 0
        assert transcript.scroll_y == transcript.max_scroll_y  # still at the end

        for _ in range(40):
            if not screen.query(EarlierMessages):
                break
            before = mounted_count(screen)
            transcript.scroll_to(y=0, animate=False, immediate=True)
            await wait_for(lambda before=before: mounted_count(screen) > before and not screen._loading_earlier)
        assert not screen.query(EarlierMessages)
        assert [v.text for v in screen.query(UserMessageView)] == [f"question {i}" for i in range(21)]
        assert [v.body.text for v in screen.query(AssistantMessageView)][:20] == [f"answer {i}" for i in range(20)]


async def test_asking_the_last_answer_again_also_unmounts_old_messages(tmp_path: Path) -> None:
    async with chatty_app(tmp_path) as (app, pilot):
        screen = app.screen
        await pilot.press("f5")  # ask the last question again
        await wait_for(lambda: screen._streaming_view is None and mounted_count(screen) < ChatScreen.PAGE)
        await pilot.pause()
        questions = [v.text for v in screen.query(UserMessageView)]
        assert questions == [f"question {i}" for i in range(20 - len(questions), 20)]
        assert screen.query_one(EarlierMessages).count == 40 - mounted_count(screen)


async def test_switching_to_a_long_conversation_in_the_app_opens_at_its_end(tmp_path: Path) -> None:
    """As from the conversation list, in an app already showing another one (the
    path `benchmarks/opening.py` takes, which caught a build that opened in the
    middle of the last answer)."""
    store = open_store(tmp_path)
    cid = long_conversation(store, 500)
    app = make_app(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await screen_ready(pilot)
        screen = app.screen
        for _ in range(2):
            await screen.load_conversation(cid)
            await pilot.pause()
            await pilot.pause()
            transcript = screen.query_one(Transcript)
            assert transcript.scroll_y == transcript.max_scroll_y > 0
            last = screen.query(AssistantMessageView).last()
            assert last.region.bottom <= transcript.region.bottom
            assert any("End of answer 499." in "".join(s.text for s in strip)
                       for strip in screen._compositor.render_strips())
            await screen.action_new_conversation()
            await pilot.pause()
