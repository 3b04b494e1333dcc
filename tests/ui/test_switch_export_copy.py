"""In the app: switching between the answers to the last message, model labels
on answers written live after a switch of model, export to a file, and copying
any message or code block."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from chat_tui.domain import MessageStatus
from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner
from chat_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, openai_text_reply, sse


def answers(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.body.text for a in app.screen.query(AssistantMessageView)]


def switcher(app) -> str:  # type: ignore[no-untyped-def]
    found = app.screen.query(".alternatives")
    return "" if not found else str(found.first(Static).render())


async def idle(app) -> None:  # type: ignore[no-untyped-def]
    await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))


async def test_regenerated_answers_can_be_switched_back_and_forth(server: SSETestServer, tmp_path: Path) -> None:
    cut = Reply(chunks=[sse(openai_chunk("a second one, cut"))], drop=True)
    server.queue(openai_text_reply(["the first answer"]), cut, openai_text_reply(["the follow-up"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "tell me")
        await idle(app)
        assert switcher(app) == ""
        await pilot.press("alt+left")  # nothing to switch to: a hint, nothing changes
        assert answers(app) == ["the first answer"]

        await pilot.press("f5")
        await wait_for(lambda: answers(app) == ["a second one, cut"] and app.screen._streaming_view is None)
        assert switcher(app).startswith("◀ answer 2 of 2 ▶")
        assert app.screen.query(InterruptedBanner)

        await pilot.press("alt+left")
        await wait_for(lambda: answers(app) == ["the first answer"])
        assert switcher(app).startswith("◀ answer 1 of 2 ▶")
        assert not app.screen.query(InterruptedBanner)
        await pilot.press("alt+left")  # already the first: stays
        assert answers(app) == ["the first answer"]

        await pilot.press("alt+right")
        await wait_for(lambda: answers(app) == ["a second one, cut"])
        assert app.screen.query(InterruptedBanner)  # cut off again, so Continue still works
        await pilot.press("alt+left")
        await wait_for(lambda: answers(app) == ["the first answer"])

        # The next question follows the answer on screen; the switcher moves on.
        await send(pilot, "go on")
        await wait_for(lambda: answers(app) == ["the first answer", "the follow-up"])
        await idle(app)
        assert switcher(app) == ""
    assert [(m["role"], m["content"]) for m in server.requests[-1].body["messages"]] == [
        ("user", "tell me"), ("assistant", "the first answer"), ("user", "go on"),
    ]

    # Reopened: the chosen answer, its alternative still there.
    app2 = make_app(store, conversation_id=store.last_conversation_id())
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert answers(app2) == ["the first answer", "the follow-up"]


async def test_the_switcher_comes_back_on_reopening(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply(["one"]), openai_text_reply(["two"]), openai_text_reply(["three"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "count")
        await idle(app)
        for expected in ("two", "three"):
            await pilot.press("f5")
            await wait_for(lambda expected=expected: answers(app) == [expected] and app.screen._streaming_view is None)
    app2 = make_app(store, conversation_id=store.last_conversation_id())
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert answers(app2) == ["three"]
        assert switcher(app2).startswith("◀ answer 3 of 3 ▶")
        await pilot.press("alt+left", "alt+left")
        await wait_for(lambda: answers(app2) == ["one"])
        assert switcher(app2).startswith("◀ answer 1 of 3 ▶")
    current = [m.text for m in store.messages(store.last_conversation_id())
               if m.status != MessageStatus.SUPERSEDED]
    assert current == ["count", "one"]


async def test_answers_by_another_model_are_labelled_as_soon_as_the_model_changes(
    server: SSETestServer, tmp_path: Path
) -> None:
    server.queue(openai_text_reply(["by the first"]), openai_text_reply(["by the second"]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "one")
        await idle(app)
        views = list(app.screen.query(AssistantMessageView))
        assert [v.label for v in views] == [""]
        app.engine.provider.model = "other-model"  # what the model picker does
        await send(pilot, "two")
        await wait_for(lambda: answers(app) == ["by the first", "by the second"])
        await idle(app)
        views = list(app.screen.query(AssistantMessageView))
        assert [v.label for v in views] == ["test-model", ""]
        assert str(views[0].query_one(".model-label", Static).render()) == "test-model"
        assert not views[1].query(".model-label")


async def test_export_from_the_app_writes_a_file_in_the_working_directory(
    server: SSETestServer, tmp_path: Path, monkeypatch
) -> None:
    import json

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "chat-a-question-about-owls.md").write_text("mine, not to be replaced")
    server.queue(openai_text_reply(["Owls ", "**hoot**."]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.export_conversation("md")  # before anything was said
        await send(pilot, "A question about owls?")
        await idle(app)
        app.screen.export_conversation("md")
        app.screen.export_conversation("json")
        await pilot.pause()
        notices = [n.message for n in app._notifications]
    assert notices[0].startswith("Nothing to export yet")
    assert (work / "chat-a-question-about-owls.md").read_text() == "mine, not to be replaced"
    written = (work / "chat-a-question-about-owls-2.md").read_text()
    assert "## You\n\nA question about owls?\n" in written and "Owls **hoot**." in written
    data = json.loads((work / "chat-a-question-about-owls.json").read_text())
    assert [m["text"] for m in data["messages"]] == ["A question about owls?", "Owls **hoot**."]
    assert any(n.startswith("Exported to ") and n.endswith("chat-a-question-about-owls-2.md") for n in notices)
    assert (work / "chat-a-question-about-owls.json").stat().st_mode & 0o777 == 0o600


async def test_export_when_the_directory_is_gone_is_one_line(server: SSETestServer, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "gone"
    work.mkdir()
    monkeypatch.chdir(work)
    work.rmdir()  # the app's working directory was deleted under it
    server.queue(openai_text_reply(["fine"]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hi")
        await idle(app)
        app.screen.export_conversation("md")
        await pilot.pause()
        notices = [n.message for n in app._notifications]
    assert notices[-1].startswith("Cannot export to the current directory: ") and "\n" not in notices[-1]
    assert not work.exists()


async def test_copy_any_message_or_code_block(server: SSETestServer, tmp_path: Path) -> None:
    from textual.widgets import OptionList

    from chat_tui.ui.screens.copy_picker import CopyPickerScreen

    answer = "Two ways:\n\n```python\nprint('a')\nprint('b')\n```\n\nor\n\n```sh\necho \x1b[31mc\n```\n"
    server.queue(openai_text_reply(["first answer"]), openai_text_reply([answer[:20], answer[20:]]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f3")
        assert not isinstance(app.screen, CopyPickerScreen)  # nothing to copy yet
        await send(pilot, "hello")
        await idle(app)
        await send(pilot, "show both")
        await wait_for(lambda: len(answers(app)) == 2 and answers(app)[1] == answer)
        await idle(app)
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, CopyPickerScreen))
        options = app.screen.query_one(OptionList)
        rows = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert rows[0].startswith("You") and rows[0].endswith("hello")
        assert rows[1].startswith("Answer") and rows[1].endswith("first answer")
        assert rows[3].startswith("Answer") and rows[3].endswith("Two ways:")
        assert "python code block 1 · 2 lines" in rows[4] and rows[4].endswith("print('a')")
        assert "sh code block 2 · 1 line" in rows[5] and "\x1b" not in rows[5]
        assert options.highlighted == 3  # the last answer
        await pilot.press("down", "enter")
        await wait_for(lambda: not isinstance(app.screen, CopyPickerScreen))
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, CopyPickerScreen))
        await pilot.press("home", "enter")
        await wait_for(lambda: len(copied) == 2)
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, CopyPickerScreen))
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, CopyPickerScreen))
    assert copied == ["print('a')\nprint('b')\n", "hello"]
