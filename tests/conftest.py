from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sse_server import SSETestServer

_NO_CONFIG = Path(tempfile.gettempdir()) / f"chat-tui-no-config-{uuid.uuid4().hex}" / "config.toml"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code run in-process never reads the developer's own config file. (A path
    that does not exist, in a folder anyone may search: some tests drop root.)"""
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(_NO_CONFIG))


@pytest.fixture
def server() -> Iterator[SSETestServer]:
    """A fresh loopback OpenAI/Anthropic-format server for one test."""
    with SSETestServer() as srv:
        yield srv
