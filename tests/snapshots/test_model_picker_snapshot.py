"""SVG snapshot of the model picker. The docstring says what a reviewer must see.

Update on purpose with `pytest tests/snapshots --snapshot-update -k model_picker`,
and look at the changed SVG before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from chat_tui.config import load_settings
from chat_tui.providers import make_provider
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.model_picker import ModelPickerScreen
from tests.support.app import open_store
from tests.support.pilot import wait_for
from tests.support.sse_server import SSETestServer

SIZE = (100, 34)
MODELS = ["m-one", "gpt-4.1", "llama3.1:8b", "[bold]not-bold[/bold]", "evil\x1b]0;title\x07name"]


def test_model_picker(snap_compare, server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+L over the empty chat: a bordered box headed "Switch model   now:
    openai · m-one"; "Profiles" (accent, bold) with "one  openai · m-one
    ● current" (highlighted, the marker green) and "two  anthropic ·
    claude-test"; "Models of this server (openai)" with m-one (● current),
    gpt-4.1, llama3.1:8b, "[bold]not-bold[/bold]" shown literally (not bold)
    and "evil␛]0;title␇name" with its control characters made visible; the
    one-line status "5 models on this server. Or type any name below."; the
    empty name field with its placeholder; the keys line."""
    server.models = MODELS
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CHAT_TUI_MODEL", "CHAT_TUI_BASE_URL",
                 "CHAT_TUI_PROVIDER", "CHAT_TUI_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "one"\n\n'
        f'[profiles.one]\nkind = "openai"\nbase_url = "{server.base_url}"\nmodel = "m-one"\n\n'
        '[profiles.two]\nkind = "anthropic"\nmodel = "claude-test"\napi_key_env = "NO_SUCH_KEY_VARIABLE"\n'
    )
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(config))
    settings = load_settings()
    app = ChatApp(store=open_store(tmp_path), provider=make_provider(settings), settings=settings)

    async def run_before(pilot) -> None:
        await pilot.press("ctrl+l")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen))
        await wait_for(lambda: "5 models" in str(app.screen.query_one("#status", Static).render()))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_config_error_while_the_app_runs(snap_compare, server: SSETestServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The config file was broken after the app started (a missing quote on line
    5); Ctrl+L reads it again: a red "Config file" notification says
    "config.toml, line 5: not valid TOML: …"; under "Profiles" the red line "Not read: the
    config file has an error (see the notice)."; the picker still lists the server's
    models ("m-one" current); the app keeps running."""
    server.models = ["m-one", "gpt-4.1"]
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CHAT_TUI_MODEL", "CHAT_TUI_BASE_URL",
                 "CHAT_TUI_PROVIDER", "CHAT_TUI_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    good = f'default_profile = "one"\n\n[profiles.one]\nkind = "openai"\nbase_url = "{server.base_url}"\nmodel = "m-one"\n'
    config.write_text(good)
    monkeypatch.setenv("CHAT_TUI_CONFIG", "config.toml")  # relative: the same notice on every machine
    settings = load_settings()
    app = ChatApp(store=open_store(tmp_path), provider=make_provider(settings), settings=settings)

    async def run_before(pilot) -> None:
        config.write_text(good.replace('base_url = "', 'base_url = '))
        await pilot.press("ctrl+l")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen))
        await wait_for(lambda: "2 models" in str(app.screen.query_one("#status", Static).render()))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
