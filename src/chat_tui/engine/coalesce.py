"""Merge event batches that arrive faster than anyone can show them.

A fast provider delivers an SSE event every fraction of a millisecond, each a
batch of its own. Committing and showing each separately would cost a database
commit and a UI hop per token. `coalesced` reads the provider in a task of its
own and hands over everything that arrived since the last hand-over, at most
once per `interval`: the first batch after a quiet spell goes at once (the
first token is never delayed), later ones wait at most `interval`.

Closing the coalesced stream (or cancelling its consumer) cancels the reader
task, which closes the provider's stream and so its HTTP response.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

DEFAULT_INTERVAL = 0.008
"""Half a frame at 60 frames/s."""

_END = object()


async def coalesced(
    stream: AsyncIterator[Sequence[T]], interval: float = DEFAULT_INTERVAL
) -> AsyncIterator[list[T]]:
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async with contextlib.aclosing(stream) as batches:  # type: ignore[type-var]
                async for batch in batches:
                    queue.put_nowait(batch)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_END)

    reader = asyncio.create_task(pump())
    last = 0.0
    try:
        while True:
            item = await queue.get()
            wait = last + interval - time.monotonic()
            if wait > 0 and item is not _END:
                await asyncio.sleep(wait)
            merged: list[T] = []
            done = False
            while True:
                if item is _END:
                    done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                merged.extend(item)  # type: ignore[arg-type]
                if queue.empty():
                    break
                item = queue.get_nowait()
            if merged:
                last = time.monotonic()
                yield merged
            if done:
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
