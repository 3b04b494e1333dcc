"""Pilot tests of switching model and profile (Ctrl+L, "Switch model" in the
command palette) against real loopback servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList
from textual.widgets import Input, OptionList, Static

from chat_tui.config import load_settings
from chat_tui.domain import MessageStatus, Role
from chat_tui.providers import make_provider
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.model_picker import ModelPickerScreen
from chat_tui.ui.widgets.header_bar import HeaderBar
from chat_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.app import make_app, open_store
from tests.support.sse_server import SSETestServer, error_reply, openai_text_reply
from tests.support.pilot import send, wait_for


async def answered(app: ChatApp, count: int) -> None:
    await wait_for(lambda: app.chat_screen._streaming_view is None
                   and len(app.chat_screen.query(AssistantMessageView)) == count
                   and all(not v.streaming for v in app.chat_screen.query(AssistantMessageView)))


def header_text(app: ChatApp) -> str:
    return app.chat_screen.query_one(HeaderBar).provider_label


def status_text(picker: ModelPickerScreen) -> str:
    return str(picker.query_one("#status", Static).render())


def option_ids(picker: ModelPickerScreen) -> list[str]:
    option_list = picker.query_one(OptionList)
    return [o.id for o in (option_list.get_option_at_index(i) for i in range(option_list.option_count)) if o.id]


async def open_picker(pilot) -> ModelPickerScreen:
    await pilot.press("ctrl+l")
    await wait_for(lambda: isinstance(pilot.app.screen, ModelPickerScreen))
    picker = pilot.app.screen
    await wait_for(lambda: "Loading" not in status_text(picker))
    await pilot.pause()
    return picker


async def test_picker_lists_the_servers_models_and_the_choice_reaches_the_next_request(
    server: SSETestServer, tmp_path: Path
) -> None:
    server.models = ["test-model", "bigger-model", "tiny-model"]
    server.queue(openai_text_reply(["first"]), openai_text_reply(["second"]))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(pilot, "one")
        await answered(app, 1)
        picker = await open_picker(pilot)
        assert server.model_list_requests[-1].path == "/v1/models"
        assert option_ids(picker) == ["model:test-model", "model:bigger-model", "model:tiny-model"]
        assert "3 models" in status_text(picker)
        # The current model is highlighted; the next one down is chosen.
        assert picker.query_one(OptionList).highlighted_option.id == "model:test-model"
        await pilot.press("down", "enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert app.engine.provider.model == "bigger-model"
        assert header_text(app) == "openai · bigger-model"
        await send(pilot, "two")
        await answered(app, 2)
    assert [r.body["model"] for r in server.requests] == ["test-model", "bigger-model"]
    messages = [m for m in store.messages(store.last_conversation_id()) if m.role == Role.ASSISTANT]
    assert [m.model for m in messages] == ["test-model", "bigger-model"]

    # Reopened, the answer by the model the conversation no longer uses says which model wrote it.
    app2 = make_app(store, conversation_id=store.last_conversation_id())
    async with app2.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        views = list(app2.screen.query(AssistantMessageView))
        assert [v.label for v in views] == ["test-model", ""]
        assert str(views[0].query_one(".model-label", Static).render()) == "test-model"
        assert not views[1].query(".model-label")


async def test_free_text_model_name(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply(["ok"]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        picker = await open_picker(pilot)
        field = picker.query_one("#model-name", Input)
        field.focus()
        await pilot.press(*"my-own/model:7b")
        # Typing narrows the list: no listed model matches.
        assert option_ids(picker) == []
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert header_text(app) == "openai · my-own/model:7b"
        await send(pilot, "hi")
        await answered(app, 1)
    assert server.requests[0].body["model"] == "my-own/model:7b"


async def test_typing_narrows_the_list_and_down_goes_to_it(server: SSETestServer, tmp_path: Path) -> None:
    server.models = ["alpha-1", "beta-2", "alpha-3"]
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        picker = await open_picker(pilot)
        picker.query_one("#model-name", Input).focus()
        await pilot.press(*"alpha")
        assert option_ids(picker) == ["model:alpha-1", "model:alpha-3"]
        await pilot.press("down")
        assert picker.query_one(OptionList).has_focus
        await pilot.press("down", "enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert app.engine.provider.model == "alpha-3"


async def test_a_failing_model_list_shows_one_error_line_and_free_text_still_works(
    server: SSETestServer, tmp_path: Path
) -> None:
    server.models_reply = error_reply(401, "Incorrect API key provided\nsee the docs")
    server.queue(openai_text_reply(["ok"]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        picker = await open_picker(pilot)
        status = picker.query_one("#status", Static)
        assert status.has_class("-error")
        text = status_text(picker)
        assert "HTTP 401" in text and "Incorrect API key provided" in text and "\n" not in text
        assert status.size.height == 1
        assert option_ids(picker) == []
        picker.query_one("#model-name", Input).focus()
        await pilot.press(*"typed-model", "enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        await send(pilot, "hi")
        await answered(app, 1)
    assert server.requests[0].body["model"] == "typed-model"


async def test_escape_changes_nothing(server: SSETestServer, tmp_path: Path) -> None:
    server.models = ["test-model", "other"]
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        await open_picker(pilot)
        await pilot.press("down", "escape")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert app.engine.provider.model == "test-model"
        assert header_text(app) == "openai · test-model"


async def test_the_command_palette_opens_the_picker(server: SSETestServer, tmp_path: Path) -> None:
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"switch model")

        def first_hit() -> str:
            hits = app.screen.query(CommandList)
            return str(hits.first().get_option_at_index(0).prompt) if hits and hits.first().option_count else ""

        await wait_for(lambda: "Switch model" in first_hit())
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen))
        await wait_for(lambda: "model:test-model" in option_ids(app.screen))
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))


@pytest.fixture
def two_servers() -> tuple[SSETestServer, SSETestServer]:
    with SSETestServer() as first, SSETestServer() as second:
        yield first, second


def write_profiles(tmp_path: Path, first: SSETestServer, second: SSETestServer, *, second_model: str = "m-two") -> Path:
    path = tmp_path / "config.toml"
    second_line = f'model = "{second_model}"\n' if second_model else ""
    path.write_text(
        'default_profile = "one"\n\n'
        f'[profiles.one]\nkind = "openai"\nbase_url = "{first.base_url}"\nmodel = "m-one"\n'
        'prices = { input = 1.0, output = 2.0 }\n\n'
        f'[profiles.two]\nkind = "openai"\nbase_url = "{second.base_url}"\n{second_line}'
    )
    return path


def profile_app(tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CHAT_TUI_MODEL", "CHAT_TUI_BASE_URL", "CHAT_TUI_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(config))
    settings = load_settings()
    assert settings.profile == "one"
    return ChatApp(store=open_store(tmp_path), provider=make_provider(settings), settings=settings)


async def test_switching_profile_sends_the_next_request_to_the_other_server(
    two_servers: tuple[SSETestServer, SSETestServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_servers
    first.queue(openai_text_reply(["from one"]))
    second.queue(openai_text_reply(["from two"]))
    app = profile_app(tmp_path, write_profiles(tmp_path, first, second), monkeypatch)
    async with app.run_test(size=(100, 34)) as pilot:
        old = app.engine.provider
        await send(pilot, "first question")
        await answered(app, 1)
        picker = await open_picker(pilot)
        assert option_ids(picker)[:2] == ["profile:one", "profile:two"]
        assert "current" in str(picker.query_one(OptionList).get_option("profile:one").prompt)
        picker.query_one(OptionList).highlighted = option_ids(picker).index("profile:two") + 1  # after the heading
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert app.engine.provider is not old
        assert old._client.is_closed
        assert header_text(app) == "openai · m-two"
        assert app.settings.profile == "two" and app.settings.prices is None
        await send(pilot, "second question")
        await answered(app, 2)
        texts = [v.body.text for v in app.chat_screen.query(AssistantMessageView)]
        assert texts == ["from one", "from two"]
    assert [r.body["model"] for r in first.requests] == ["m-one"]
    assert [r.body["model"] for r in second.requests] == ["m-two"]
    # The second server got the whole conversation so far.
    assert [m["content"] for m in second.requests[0].body["messages"]] == [
        "first question", "from one", "second question"]
    store = app.engine.store
    answers = [m for m in store.messages(store.last_conversation_id()) if m.role == Role.ASSISTANT]
    assert [(m.model, m.status) for m in answers] == [("m-one", MessageStatus.COMPLETE), ("m-two", MessageStatus.COMPLETE)]


async def test_a_profile_without_a_model_keeps_the_picker_open_on_its_servers_models(
    two_servers: tuple[SSETestServer, SSETestServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_servers
    second.models = ["served-a", "served-b"]
    second.queue(openai_text_reply(["ok"]))
    app = profile_app(tmp_path, write_profiles(tmp_path, first, second, second_model=""), monkeypatch)
    async with app.run_test(size=(100, 34)) as pilot:
        picker = await open_picker(pilot)
        picker.query_one(OptionList).highlighted = option_ids(picker).index("profile:two") + 1
        await pilot.press("enter")
        await wait_for(lambda: "model:served-b" in option_ids(picker))
        assert app.screen is picker
        assert app.engine.provider.base_url == second.base_url
        picker.query_one(OptionList).highlighted = option_ids(picker).index("model:served-b") + 2  # two headings
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert header_text(app) == "openai · served-b"
        await send(pilot, "hi")
        await answered(app, 1)
    assert [r.body["model"] for r in second.requests] == ["served-b"]
    assert not first.requests


async def test_picker_is_refused_while_an_answer_streams(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(openai_text_reply(["slow"] * 50, delay=0.05))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(pilot, "hi")
        await wait_for(lambda: app.chat_screen._streaming_view is not None)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not isinstance(app.screen, ModelPickerScreen)
        await pilot.press("escape")


async def test_a_profile_that_cannot_start_shows_why_and_keeps_the_provider(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "one"\n\n'
        f'[profiles.one]\nkind = "openai"\nbase_url = "{server.base_url}"\nmodel = "m-one"\n\n'
        '[profiles.keyless]\nkind = "anthropic"\napi_key_env = "NO_SUCH_KEY_VARIABLE"\n'
    )
    monkeypatch.delenv("NO_SUCH_KEY_VARIABLE", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    app = profile_app(tmp_path, config, monkeypatch)
    async with app.run_test(size=(100, 34)) as pilot:
        old = app.engine.provider
        picker = await open_picker(pilot)
        picker.query_one(OptionList).highlighted = option_ids(picker).index("profile:keyless") + 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker
        status = picker.query_one("#status", Static)
        assert status.has_class("-error")
        assert "NO_SUCH_KEY_VARIABLE" in status_text(picker)
        assert app.engine.provider is old and not old._client.is_closed
        assert app.settings.profile == "one"


async def test_from_the_demo_to_a_profile_the_demo_badge_and_hint_go(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat_tui.providers.demo import DemoProvider

    server.queue(openai_text_reply(["real answer"]))
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.local]\nkind = "openai"\nbase_url = "{server.base_url}"\nmodel = "m-local"\n')
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(config))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings = load_settings()
    assert settings.profile == ""
    app = ChatApp(store=open_store(tmp_path), provider=DemoProvider(tokens_per_second=0, first_token_delay=0),
                  settings=settings)
    async with app.run_test(size=(100, 34)) as pilot:
        assert "DEMO · no API key set" in str(app.chat_screen.query_one(HeaderBar).render())
        picker = await open_picker(pilot)
        assert option_ids(picker) == ["profile:local", "model:demo"]
        picker.query_one(OptionList).highlighted = 1  # after the heading
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, ModelPickerScreen))
        assert header_text(app) == "openai · m-local"
        assert "DEMO" not in str(app.chat_screen.query_one(HeaderBar).render())
        assert not app.chat_screen.query("#demo-hint")
        await send(pilot, "hi")
        await answered(app, 1)
        assert app.chat_screen.query_one(AssistantMessageView).body.text == "real answer"
    assert server.requests[0].body["model"] == "m-local"
