"""Read a fast stream in batches instead of waking up for every piece.

A fast provider writes each token as soon as it has it: at 5,000 tokens/s a
piece arrives every 0.2 ms, and an idle client wakes up for each one (the event
loop's poll, then httpx's, httpcore's and anyio's layers): about 180 µs of CPU
per piece here, so reading alone would fill a core. Once the stream is fast, a
read that had to wait for the network is followed by a short pause: the pieces
that arrive meanwhile are then taken in one read, without waking up for each
(49 µs per piece in the same test, `benchmarks/reading.py`). A slow stream (a
typical 50 tokens/s) is never paused, so its tokens are not delayed at all; a
fast one's by at most `PAUSE`, well under a frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

PAUSE = 0.002
"""Seconds to let a fast stream's pieces gather after a read that waited."""
FAST_GAP = 0.002
"""A stream whose pieces come closer than this (a smoothed average) is fast."""
WAITED = 0.0001
"""A read that took longer than this waited for the network (its buffer was empty)."""


class PacedReads:
    """Iterate `chunks` (an HTTP body's pieces), pausing as described above."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.pauses = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._chunks.__aiter__()
        monotonic = time.monotonic
        gap = 1.0
        last = monotonic()
        try:
            while True:
                start = monotonic()
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                now = monotonic()
                gap = 0.8 * gap + 0.2 * (now - last)
                last = now
                yield chunk
                if gap < FAST_GAP and now - start > WAITED:
                    self.pauses += 1
                    await asyncio.sleep(PAUSE)
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
