"""The core never imports the UI toolkits: providers, store, engine and the
rest load without Textual or Rich (so `ask`, `list`, `export` and the tests of
the core stay light, and the core cannot grow a dependency on the UI)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

CORE_MODULES = [
    "chat_tui.providers",
    "chat_tui.providers.base",
    "chat_tui.providers.events",
    "chat_tui.providers.sse",
    "chat_tui.providers.http",
    "chat_tui.providers.openai_compat",
    "chat_tui.providers.anthropic",
    "chat_tui.providers.demo",
    "chat_tui.store",
    "chat_tui.engine",
    "chat_tui.config",
    "chat_tui.config_file",
    "chat_tui.importing",
    "chat_tui.store.search",
    "chat_tui.store.transfer",
    "chat_tui.commands.ask",
    "chat_tui.commands.config",
    "chat_tui.commands.library",
    "chat_tui.domain",
    "chat_tui.errors",
    "chat_tui.sanitize",
    "chat_tui.markdown_blocks",
    "chat_tui.export",
    "chat_tui.paths",
    "chat_tui.cli",
]

UI_PACKAGES = ("textual", "rich")


def loaded_after_import(modules: list[str], *, without_httpx_cli: bool = True) -> list[str]:
    # httpx imports its optional command-line tool (`httpx._main`, which loads
    # Rich and Pygments) whenever `click` happens to be installed, which another
    # dependency may bring. That is httpx's doing, not ours: by default the
    # check hides that module so that it sees what chat-tui itself imports.
    code = (
        "import importlib, json, sys\n"
        + ("sys.modules['httpx._main'] = None\n" if without_httpx_cli else "")
        + f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    return run_python(code)


def run_python(code: str) -> Any:
    """Run `code` in a fresh interpreter; what it printed last, as JSON."""
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ui_modules(loaded: list[str]) -> list[str]:
    return [m for m in loaded if m.split(".")[0] in UI_PACKAGES]


def test_core_modules_do_not_import_textual_or_rich() -> None:
    loaded = loaded_after_import(CORE_MODULES)
    assert set(CORE_MODULES) <= set(loaded)
    assert ui_modules(loaded) == []


@pytest.mark.parametrize("module", ["chat_tui.providers.openai_compat", "chat_tui.store", "chat_tui.engine"])
def test_each_core_module_alone(module: str) -> None:
    assert ui_modules(loaded_after_import([module])) == []


def test_without_hiding_anything_textual_is_never_loaded_and_rich_only_by_httpx() -> None:
    loaded = loaded_after_import(CORE_MODULES, without_httpx_cli=False)
    assert [m for m in loaded if m.split(".")[0] == "textual"] == []
    if "rich" in loaded:
        assert "httpx._main" in loaded


def test_the_check_would_notice_a_ui_import() -> None:
    # The same check run on a module that does load Rich finds it.
    assert "rich" in ui_modules(loaded_after_import(["rich.console"]))


def test_starting_the_app_with_a_provider_does_not_load_httpx() -> None:
    """httpx is a fifth of a cold start: it is loaded when the HTTP client is
    made, once the app's first frame is shown (`HTTPStreamProvider.prepare`)."""
    code = (
        "import json, sys\n"
        "import chat_tui.cli, chat_tui.ui.app\n"
        "from chat_tui.providers.http import Secret\n"
        "from chat_tui.providers.openai_compat import OpenAICompatProvider\n"
        "from chat_tui.providers.anthropic import AnthropicProvider\n"
        "made = [OpenAICompatProvider(base_url='http://127.0.0.1:9/v1', model='m', api_key=Secret('k')),\n"
        "        AnthropicProvider(base_url='http://127.0.0.1:9', model='m', api_key=Secret('k'))]\n"
        "before = 'httpx' in sys.modules\n"
        "made[0].prepare()\n"
        "print(json.dumps([before, 'httpx' in sys.modules]))\n"
    )
    assert run_python(code) == [False, True]
