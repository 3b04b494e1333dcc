"""Read a fast stream in batches instead of waking up for every piece.

A fast provider writes each token as soon as it has it: at 5,000 tokens/s a
piece arrives every 0.2 ms, and an idle client wakes up for each one (the event
loop's poll, then httpx's, httpcore's and anyio's layers): about 180 µs of CPU
per piece here, so reading alone would fill a core. Once the stream is fast,
each read of the connection (or, read through httpx, each read that waited for
the network) is followed by a short pause: the pieces that arrive meanwhile are
then taken in one read, without waking up for each (`benchmarks/reading.py`).
A slow stream (a typical 50 tokens/s) is never paused, so its tokens are not
delayed at all; a fast one's by at most `PAUSE`, a quarter of a frame. The
answer is handed on at most every 8 ms anyway (`engine.coalesce`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

PAUSE = 0.006
"""Seconds to let a fast stream's pieces gather after a read."""
FAST_GAP = 0.002
"""A stream whose pieces come closer than this (a smoothed average of how
long reads wait for the network) is fast."""
WAITED = 0.0001
"""A read that took longer than this waited for the network (its buffer was empty)."""
BACKLOG = 32768
"""A read this large means more is waiting: the next one follows at once."""


class PacedReads:
    """Iterate `chunks` (an HTTP body's pieces), pausing as described above."""

    def __init__(self, chunks: AsyncIterator[bytes], *, drains: bool = False) -> None:
        """`drains`: each read of `chunks` takes all that has arrived (a read of
        the connection); then every read of a fast stream is followed by a
        pause. Otherwise (httpx hands a body over one HTTP chunk at a time, and
        more may be waiting behind it) only a read that waited for the network
        is: pausing after each piece would hold buffered pieces back."""
        self._chunks = chunks
        self._drains = drains
        self.pauses = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._chunks.__aiter__()
        monotonic = time.monotonic
        gap = 1.0
        learned = False
        first = True
        try:
            while True:
                start = monotonic()
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                waited = monotonic() - start
                if first:
                    # The wait for the first piece is the model's time to its
                    # first token, not the stream's pace: nothing to learn.
                    first = False
                elif waited > WAITED:
                    # How long the network took to bring the next piece (after a
                    # pause, the pieces are there already: nothing to learn). The
                    # first such wait is taken as it is: a fast stream is known
                    # as fast from its second read, not after some thirty reads
                    # of a piece or two each (most of a short answer's reads).
                    gap = 0.8 * gap + 0.2 * waited if learned else waited
                    learned = True
                yield chunk
                if gap < FAST_GAP and (self._drains or waited > WAITED) and len(chunk) < BACKLOG:
                    self.pauses += 1
                    await asyncio.sleep(PAUSE)
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
