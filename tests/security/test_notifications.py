"""Error text in notifications is sanitized plain text (never markup), and
what the app puts on the clipboard cannot act on a terminal when pasted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_tui.errors import StoreError
from chat_tui.ui.screens.conversations import ConversationsScreen
from tests.security.payloads import ERROR_TEXT
from tests.support.app import make_app, open_store
from tests.support.sse_server import SSETestServer, openai_text_reply

PASTEJACK = "Run this:\n\n```sh\nls\x1b[201~\nrm -rf ~/important\n```\n\x1b]52;c;UEFTVEU=\x07"


def capture_notifications(app: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        calls.append({"message": message, **kwargs})
        notify(message, **kwargs)

    app.notify = recording
    return calls


def assert_inert(call: dict[str, Any]) -> None:
    assert call["markup"] is False
    assert "\x1b" not in call["message"] and "\x9b" not in call["message"]
    assert "␛]0;err-title-E1␇" in call["message"] and "[bold]MARKUP-E1[/bold]" in call["message"]


async def test_an_error_notification_is_inert(tmp_path: Path) -> None:
    app = make_app(open_store(tmp_path))
    calls = capture_notifications(app)

    async def failing_turn(*args: Any, **kwargs: Any) -> Any:
        raise StoreError(ERROR_TEXT)
        yield

    async with app.run_test(size=(100, 30)) as pilot:
        app.engine.run_turn = failing_turn
        app.screen.prompt.load_text("hi")
        await pilot.press("enter")
        await pilot.pause(0.2)
    errors = [c for c in calls if c.get("severity") == "error"]
    assert len(errors) == 1
    assert_inert(errors[0])


async def test_a_store_error_in_the_conversation_list_is_inert(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    app = make_app(store)
    calls = capture_notifications(app)

    def failing_list(*args: Any, **kwargs: Any) -> Any:
        raise StoreError(ERROR_TEXT)

    async with app.run_test(size=(100, 30)) as pilot:
        store.list_conversations = failing_list
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConversationsScreen)
    errors = [c for c in calls if c.get("severity") == "error"]
    assert len(errors) == 1
    assert_inert(errors[0])


async def test_copied_answers_and_code_cannot_act_on_a_terminal(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply([PASTEJACK]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.prompt.load_text("code please")
        await pilot.press("enter")
        while app.screen._streaming_view is not None or not app.screen._last_answer():
            await pilot.pause(0.05)
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+t")
    assert len(copied) == 2
    for text in copied:
        assert "\x1b" not in text and "␛[201~" in text
    assert "rm -rf ~/important" in copied[1]
