"""Read pacing: a fast stream's reads pause so that pieces gather; a slow
stream is never paused; nothing is lost or reordered either way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from chat_tui.providers import pacing
from chat_tui.providers.pacing import PacedReads


async def arriving(count: int, every: float) -> AsyncIterator[bytes]:
    """`count` pieces, one every `every` seconds (each read waits for its piece)."""
    for i in range(count):
        await asyncio.sleep(every)
        yield b"piece %d;" % i


async def read_all(reads: PacedReads) -> bytes:
    return b"".join([chunk async for chunk in reads])


async def test_a_slow_stream_is_never_paused() -> None:
    reads = PacedReads(arriving(15, 0.01))
    assert await read_all(reads) == b"".join(b"piece %d;" % i for i in range(15))
    assert reads.pauses == 0


async def test_a_fast_stream_pauses_after_reads_that_waited() -> None:
    reads = PacedReads(arriving(300, 0.0003))
    start = time.monotonic()
    assert await read_all(reads) == b"".join(b"piece %d;" % i for i in range(300))
    assert reads.pauses > 0
    # Each pause is short: the stream is not held back for long.
    assert time.monotonic() - start < 300 * 0.0003 + reads.pauses * pacing.PAUSE + 1.0


async def test_pieces_already_there_are_read_without_pausing() -> None:
    async def buffered() -> AsyncIterator[bytes]:
        for i in range(500):
            yield b"%d," % i  # no wait: the data was already in the buffer

    reads = PacedReads(buffered())
    assert await read_all(reads) == b"".join(b"%d," % i for i in range(500))
    assert reads.pauses == 0


async def test_closing_the_reads_closes_the_stream() -> None:
    closed = []

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                await asyncio.sleep(0.0002)
                yield b"x"
        finally:
            closed.append(True)

    reads = PacedReads(body()).__aiter__()
    for _ in range(50):
        await reads.__anext__()
    assert closed == []
    await reads.aclose()  # as when the answer is cancelled: the body is closed at once
    assert closed == [True]
