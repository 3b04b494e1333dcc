"""The conversation list: open, rename, delete; and reopening from the command line."""

from __future__ import annotations

from pathlib import Path

from chat_tui.domain import MessageStatus, Role
from chat_tui.ui.screens.conversations import ConversationsScreen
from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
from tests.support.app import make_app, open_store
from tests.support.pilot import wait_for


def saved(store, title: str, status: MessageStatus = MessageStatus.COMPLETE) -> int:
    cid = store.create_conversation(provider="demo", model="demo", title=title)
    store.add_message(cid, Role.USER, f"{title}?")
    mid = store.start_assistant(cid)
    store.append(mid, f"answer to {title}")
    store.finish(mid, status)
    return cid


async def test_open_rename_and_delete(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = saved(store, "first")
    second = saved(store, "second", MessageStatus.INTERRUPTED)
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        assert [c.id for c in screen.conversations] == [second, first]
        assert "interrupted" in str(screen.query_one("OptionList").get_option_at_index(0).prompt)

        # Rename the highlighted (newest) one.
        await pilot.press("f2")
        rename = screen.query_one("#rename")
        rename.value = "renamed second"
        await pilot.press("enter")
        assert store.get_conversation(second).title == "renamed second"

        # Delete the second row ("first").
        await pilot.press("down", "delete")
        assert store.get_conversation(first) is None
        assert [c.id for c in screen.conversations] == [second]

        # Open the remaining one.
        await pilot.press("enter")
        await wait_for(lambda: bool(app.screen.query(UserMessageView)))
        assert app.screen.conversation_id == second
        assert app.screen.query_one(AssistantMessageView).body.text == "answer to second"


async def test_resume_a_given_conversation(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    one = saved(store, "one")
    saved(store, "two")
    app = make_app(store, conversation_id=one)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [v.text for v in app.screen.query(UserMessageView)] == ["one?"]


async def test_search_from_the_conversation_list(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    saved(store, "alpha")
    target = store.create_conversation(provider="demo", model="demo", title="about pelicans")
    store.add_message(target, Role.USER, "tell me about pelicans")
    mid = store.start_assistant(target)
    store.append(mid, "Pelicans scoop fish with their pouch.")
    store.finish(mid, MessageStatus.COMPLETE)
    saved(store, "omega")
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        screen = app.screen
        await pilot.press(*"pouch")
        await pilot.pause()
        assert screen.query_one("#search").value == "pouch"
        assert [h.conversation_id for h in screen.hits] == [target]
        assert "pouch" in str(screen.query_one("OptionList").get_option_at_index(0).prompt)
        await pilot.press("down", "enter")
        await wait_for(lambda: bool(app.screen.query(UserMessageView)))
        assert app.screen.conversation_id == target
        # A search that finds nothing says so, and hostile FTS syntax is just text.
        await pilot.press("ctrl+o")
        await pilot.press(*'"AND (')
        await pilot.pause()
        assert app.screen.hits == []
        assert "Nothing matches" in str(app.screen.query_one("OptionList").get_option_at_index(0).prompt)


def test_a_search_hit_in_a_replaced_answer_says_so() -> None:
    from chat_tui.domain import SearchHit
    from chat_tui.ui.screens.conversations import hit_label

    hit = SearchHit(1, "title", 2, Role.ASSISTANT, "old wording", ((4, 11),), 0.0, replaced=True)
    assert "a replaced answer: Alt+← brings it back" in str(hit_label(hit))
    assert "replaced" not in str(hit_label(SearchHit(1, "title", 2, Role.ASSISTANT, "new wording", (), 0.0)))
