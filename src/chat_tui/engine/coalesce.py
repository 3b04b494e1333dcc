"""Merge event batches that arrive faster than anyone can show them.

A fast provider delivers an SSE event every fraction of a millisecond, each a
batch of its own. Committing and showing each separately would cost a database
commit and a UI hop per token. `coalesced` reads the provider in a task of its
own and hands over everything that arrived since the last hand-over, at most
once per `interval` (`fast_interval` while the stream is fast): the first batch
after a quiet spell goes at once (the first token is never delayed), and the
last ones go as soon as the stream has ended (the end of an answer is never
held back).

While the stream is slow, a batch that comes before its window has passed
waits for the next batch that comes after the window, and goes with that one;
only if none comes within another window does it go on its own. A timer of its
own, at the window's end, would wake the app up just for it: at a typical 50
tokens/s a token comes every 20 ms and the window is 33 ms, so nearly every
hand-over was such a wake-up (25 a second), and a wake-up of a mostly idle
process costs ~150-250 µs of CPU on a small machine, whatever it does. A fast stream's early batch still goes at
its (short) window's end: held for the next read instead, the text moved later
by a read's pause, and a 500-token answer at 5,000 tokens/s measured 5-14 %
more CPU that way (its frames fell differently against its layouts).

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

DEFAULT_INTERVAL = 1 / 30
"""For a slow stream: about a frame at the default 40 frames/s. The UI paints a slow stream
less often than that anyway (see `MarkdownStreamView`), so handing text over
more often would only cost more wake-ups, store commits and worker hops (at a
typical 50 tokens/s, 8 ms merged nothing: every token was a hand-over of its own)."""
FAST_INTERVAL = 0.008
"""For a fast stream (several events merged per hand-over): well under a frame,
so that a fast stream can be shown at full frame rate."""
FAST_ITEMS = 4
"""A hand-over of at least this many items (events) means the stream is fast.
(Counted in items, not batches: one read of a fast stream holds many events.)"""

_END = object()


async def coalesced(
    stream: AsyncIterator[Sequence[T]], interval: float = DEFAULT_INTERVAL, fast_interval: float = FAST_INTERVAL
) -> AsyncIterator[list[T]]:
    queue: asyncio.Queue[object] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    ended = False
    waiting: asyncio.Future[None] | None = None
    """The consumer's wait for the next batch, or the stream's end, or its window's last chance."""

    def wake() -> None:
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def pump() -> None:
        nonlocal ended
        try:
            async with contextlib.aclosing(stream) as batches:  # type: ignore[type-var]
                async for batch in batches:
                    queue.put_nowait(batch)
                    wake()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_END)
            ended = True
            wake()

    reader = asyncio.create_task(pump())
    last = 0.0
    window = interval
    try:
        while True:
            item = await queue.get()
            due = last + window
            early = due - time.monotonic()
            if early > 0 and item is not _END and not ended:
                slow = window >= interval
                # Slow: wait for a batch after `due` (see the module's docstring);
                # the timer is cancelled, never run, while the stream keeps coming.
                timer = loop.call_later(early + window if slow else early, wake)
                try:
                    while not ended:
                        waiting = loop.create_future()
                        await waiting
                        waiting = None
                        if time.monotonic() >= due:
                            break  # a batch after the window, or its last chance
                finally:
                    timer.cancel()
                    waiting = None
            merged: list[T] = []
            done = False
            error: BaseException | None = None
            while True:
                if item is _END:
                    done = True
                    break
                if isinstance(item, BaseException):
                    error = item  # after what arrived before it
                    break
                merged.extend(item)  # type: ignore[arg-type]
                if queue.empty():
                    break
                item = queue.get_nowait()
            if merged:
                # The first hand-over went at once, before the stream's pace was
                # known: the next one comes soon (a fast stream's second text would
                # otherwise wait a slow stream's window, 33 ms, right at its start).
                window = fast_interval if len(merged) >= FAST_ITEMS or not last else interval
                last = time.monotonic()
                yield merged
            if error is not None:
                raise error
            if done:
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
