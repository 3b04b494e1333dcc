"""A long saved conversation opens at its end and loads older messages on scroll."""

from __future__ import annotations

from pathlib import Path

from chat_tui.domain import MessageStatus, Role
from chat_tui.ui.screens.chat import ChatScreen, EarlierMessages
from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
from chat_tui.ui.widgets.transcript import Transcript
from tests.support.app import make_app, open_store
from tests.support.pilot import wait_for


def long_conversation(store, pairs: int) -> int:
    cid = store.create_conversation(provider="demo", model="demo", title="long")
    for i in range(pairs):
        store.add_message(cid, Role.USER, f"question {i}")
        mid = store.start_assistant(cid)
        store.append(mid, f"## Answer {i}\n\n" + ("Some text of the answer. " * 40) + f"\n\nEnd of answer {i}.")
        store.finish(mid, MessageStatus.COMPLETE)
    return cid


async def test_opens_at_the_end_with_only_a_page_mounted(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = long_conversation(store, 500)  # 1,000 messages
    app = make_app(store, conversation_id=cid)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        transcript = screen.query_one(Transcript)
        mounted = len(screen.query(UserMessageView)) + len(screen.query(AssistantMessageView))
        assert mounted == ChatScreen.PAGE
        assert screen.query_one(EarlierMessages).count == 1000 - ChatScreen.PAGE
        assert transcript.scroll_y == transcript.max_scroll_y
        assert screen.query(AssistantMessageView).last().body.text.endswith("End of answer 499.")
        assert len(screen.prompt.sent) == 500  # Up recalls from the whole history

        # Scrolling to the top mounts the previous page above, without moving what was on screen.
        first_user = screen.query(UserMessageView).first()
        transcript.scroll_to(y=0, animate=False, immediate=True)
        await wait_for(lambda: len(screen.query(UserMessageView)) > ChatScreen.PAGE // 2)
        await pilot.pause()
        await pilot.pause()
        # Still near the top of the view, where it was, not pushed down by the page above it.
        offset = first_user.region.y - transcript.region.y
        assert 0 <= offset < 8, offset
        assert transcript.scroll_y > 0
        assert screen.query_one(EarlierMessages).count == 1000 - 2 * ChatScreen.PAGE
