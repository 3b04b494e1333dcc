from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_tui.store import Store
from tests.support.summary import SUMMARY_KEY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite file in the test's folder."""
    s = Store.open(tmp_path / "chat.db")
    yield s
    s.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.section("fault injection")
        for line in lines:
            terminalreporter.write_line(line)
