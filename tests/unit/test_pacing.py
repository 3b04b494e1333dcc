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


class Network:
    """A connection's receive buffer: pieces written at set times by a task of
    its own; a read returns all that is buffered, or waits for the next piece."""

    def __init__(self, gaps: list[float], size: int = 40) -> None:
        self.gaps = gaps
        self.size = size
        self.written: list[float] = []
        self._buffer: list[bytes] = []
        self._ready = asyncio.Event()
        self._done = False

    async def _write(self) -> None:
        for i, gap in enumerate(self.gaps):
            await asyncio.sleep(gap)
            self._buffer.append(b"%d;" % i + b"x" * self.size)
            self.written.append(time.monotonic())
            self._ready.set()
        self._done = True
        self._ready.set()

    async def reads(self) -> AsyncIterator[bytes]:
        writer = asyncio.create_task(self._write())
        try:
            while True:
                if not self._buffer:
                    if self._done:
                        return
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                data, self._buffer = b"".join(self._buffer), []
                yield data
        finally:
            writer.cancel()


async def test_a_fast_streams_pieces_gather_and_none_is_held_back_long() -> None:
    network = Network([0.0003] * 800)
    got: list[tuple[float, bytes]] = []
    reads = PacedReads(network.reads(), drains=True)
    async for chunk in reads:
        got.append((time.monotonic(), chunk))
    assert b"".join(c for _, c in got) == b"".join(b"%d;" % i + b"x" * 40 for i in range(800))
    assert len(got) < 800 / 4  # many pieces a read
    # Each piece was read soon after it was written: at most a pause, and the
    # event loop's slack, late.
    read_at = []
    for at, chunk in got:
        read_at += [at] * chunk.count(b";")
    late = sorted(r - w for r, w in zip(read_at, network.written))
    assert late[int(len(late) * 0.95)] < pacing.PAUSE + 0.01


async def test_a_fast_stream_is_known_as_fast_from_its_first_reads() -> None:
    """However long the first piece took (the model's time to its first token),
    a fast stream's reads pause from its second: a short answer's reads would
    otherwise mostly be of a piece or two each."""
    network = Network([0.3] + [0.0003] * 200)
    reads = PacedReads(network.reads(), drains=True)
    sizes: list[int] = []
    async for chunk in reads:
        sizes.append(chunk.count(b";"))
    assert sum(sizes) == 201
    assert reads.pauses >= len(sizes) - 3  # every read after the first two or so
    assert len(sizes) < 201 / 4


async def test_a_stream_that_slows_down_is_no_longer_paused() -> None:
    network = Network([0.0003] * 400 + [0.04] * 6)
    got: list[float] = []
    async for _ in PacedReads(network.reads(), drains=True):
        got.append(time.monotonic())
    slow_writes = network.written[-5:]  # (the first slow piece may still wait for a pause)
    slow_reads = got[-5:]
    assert max(r - w for r, w in zip(slow_reads, slow_writes)) < 0.003


async def test_a_large_read_is_followed_by_the_next_at_once() -> None:
    async def backlog() -> AsyncIterator[bytes]:
        for _ in range(80):
            await asyncio.sleep(0.0003)  # (each read waits a little: the stream looks fast)
            yield b"y" * pacing.BACKLOG

    reads = PacedReads(backlog(), drains=True)
    assert len(await read_all(reads)) == 80 * pacing.BACKLOG
    assert reads.pauses == 0


async def test_pieces_handed_over_one_at_a_time_are_not_held_back() -> None:
    """Read through httpx, a read hands over one HTTP chunk, and more may be
    buffered behind it: only reads that waited are followed by a pause."""

    async def one_at_a_time() -> AsyncIterator[bytes]:
        for burst in range(40):
            await asyncio.sleep(0.0005)  # (the read that waits: the stream is fast)
            for i in range(25):
                yield b"%d.%d;" % (burst, i)  # (buffered behind it: no wait)

    reads = PacedReads(one_at_a_time())
    start = time.monotonic()
    data = await read_all(reads)
    assert data == b"".join(b"%d.%d;" % (b, i) for b in range(40) for i in range(25))
    assert reads.pauses > 0
    assert time.monotonic() - start < 40 * (0.0005 + pacing.PAUSE) + 0.5  # not a pause per piece (6 s)
