"""The command palette lists what would do something now: the chat's commands
that do nothing in the state the conversation is in (stop an answer when none
streams, continue one that is complete, switch to an answer there is not) are
left out, and come back when they apply."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import SSETestServer, openai_text_reply

CHAT = {"New conversation", "Conversations", "Switch model", "Stop answer", "Cancel edit", "Continue answer",
        "Retry answer", "Copy last answer", "Copy last code block", "Copy…", "Keys", "Edit last message",
        "Regenerate answer", "Export as Markdown", "Export as JSON", "Previous answer", "Next answer"}


def listed(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {command.title for command in app.get_system_commands(app.screen)} & CHAT


async def test_the_palette_lists_what_applies_as_an_answer_streams_is_stopped_and_asked_again(
    server: SSETestServer, tmp_path: Path
) -> None:
    pieces = ["Here is ", "some code:\n\n", "```python\nx = 1\n```\n", "\nand more ", "text."]
    reply = openai_text_reply(pieces)
    gate = threading.Event()
    reply.chunks.insert(3, gate)  # two pieces, then the rest waits
    server.queue(reply)
    server.queue(openai_text_reply(["A second ", "answer."]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert listed(app) == {"New conversation", "Conversations", "Switch model", "Keys"}

        await send(pilot, "a question")
        await wait_for(lambda: app.screen._streaming_view is not None
                       and "some code" in app.screen._streaming_view.body.text, timeout=10)
        await pilot.pause()
        assert listed(app) == {"New conversation", "Conversations", "Keys", "Stop answer", "Copy last answer",
                               "Copy…", "Export as Markdown", "Export as JSON"}

        app.clear_notifications()
        await pilot.press("f5")  # waits for the answer to end: said, not silently dropped
        await pilot.pause()
        assert any("still streaming" in str(n.message) for n in app._notifications)
        assert len(server.requests) == 1

        await pilot.press("escape")  # stopped: it can be continued or asked again
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        assert listed(app) == {"New conversation", "Conversations", "Switch model", "Keys", "Continue answer",
                               "Retry answer", "Copy last answer", "Copy…", "Edit last message",
                               "Regenerate answer", "Export as Markdown", "Export as JSON"}
        gate.set()

        await pilot.press("f5")  # asked again, the stopped answer kept: "answer 2 of 2"
        await wait_for(lambda: app.screen._streaming_view is None and len(server.requests) == 2, timeout=10)
        await wait_for(lambda: "Previous answer" in listed(app), timeout=5)
        commands = listed(app)
        assert "Next answer" not in commands and "Continue answer" not in commands
        await pilot.press("alt+left")  # back to the first answer: the later one is next
        await wait_for(lambda: "Next answer" in listed(app), timeout=5)
        assert "Previous answer" not in listed(app)

        await pilot.press("f2")  # the last message back in the prompt, to edit
        await pilot.pause()
        assert "Cancel edit" in listed(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "Cancel edit" not in listed(app)


async def test_a_code_block_in_the_last_answer_lists_copying_it(tmp_path: Path) -> None:
    app = make_app(open_store(tmp_path))  # the demo provider
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "show me some code")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.conversation_id is not None,
                       timeout=10)
        await pilot.pause()
        assert "Copy last code block" in listed(app)


async def test_a_key_that_has_nothing_to_act_on_says_so(tmp_path: Path) -> None:
    """(Ctrl+G, Ctrl+R and F5 did nothing, silently, with nothing to continue,
    retry or ask again.)"""
    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key, says in (("ctrl+g", "no interrupted answer to continue"), ("ctrl+r", "no interrupted answer to retry"),
                          ("f5", "no answer to ask again"), ("f2", "no message to edit")):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert any(says in str(n.message) for n in app._notifications), key
