from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sse_server import SSETestServer


@pytest.fixture
def server() -> Iterator[SSETestServer]:
    """A fresh loopback OpenAI/Anthropic-format server for one test."""
    with SSETestServer() as srv:
        yield srv
