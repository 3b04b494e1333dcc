from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

PAYLOAD_COUNTS = pytest.StashKey[dict[str, int]]()
"""How many hostile payloads each path was tested with (printed after the run)."""


def count_payloads(config: pytest.Config, path: str, count: int) -> None:
    counts = config.stash.setdefault(PAYLOAD_COUNTS, {})
    counts[path] = counts.get(path, 0) + count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    counts = config.stash.get(PAYLOAD_COUNTS, {})
    if counts:
        terminalreporter.section("hostile payloads per path")
        for path, count in sorted(counts.items()):
            terminalreporter.write_line(f"{count:4d}  {path}")
        terminalreporter.write_line(f"{sum(counts.values()):4d}  in all")


@pytest.fixture
def image_sink() -> Iterator[socket.socket]:
    """A listening socket that nothing may connect to (images are never fetched,
    links never opened)."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)
    sink.setblocking(False)
    yield sink
    sink.close()


def connections(sink: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sink.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1
