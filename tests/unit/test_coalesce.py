"""Hand-overs of a stream: merged when fast, never delaying the first batch,
nothing lost or reordered, errors passed on, the source closed on cancel."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from chat_tui.engine.coalesce import FAST_ITEMS, coalesced


async def paced(items: list[int], gap: float, closed: list[bool] | None = None) -> AsyncIterator[list[int]]:
    try:
        for item in items:
            yield [item]
            await asyncio.sleep(gap)
    finally:
        if closed is not None:
            closed.append(True)


async def collect(stream: AsyncIterator[list[int]]) -> list[tuple[float, list[int]]]:
    start = time.monotonic()
    out = []
    async for batch in stream:
        out.append((time.monotonic() - start, batch))
    return out


async def test_the_first_batch_goes_at_once_and_nothing_is_lost_or_reordered() -> None:
    out = await collect(coalesced(paced(list(range(200)), 0.0005), interval=0.05, fast_interval=0.01))
    assert [x for _, batch in out for x in batch] == list(range(200))
    assert out[0][0] < 0.01 and out[0][1] == [0]
    assert len(out) < 100  # merged


async def test_the_second_hand_over_of_a_fast_stream_does_not_wait_the_slow_interval() -> None:
    out = await collect(coalesced(paced(list(range(400)), 0.0005), interval=0.2, fast_interval=0.01))
    assert out[0][1] == [0]
    assert out[1][0] - out[0][0] < 0.1, [t for t, _ in out[:3]]  # ~10 ms, not the slow 200 ms
    assert [x for _, batch in out for x in batch] == list(range(400))


async def test_a_fast_stream_is_handed_over_at_the_fast_interval() -> None:
    out = await collect(coalesced(paced(list(range(400)), 0.0005), interval=0.1, fast_interval=0.01))
    gaps = [b - a for (a, _), (b, _) in zip(out[1:], out[2:], strict=False)]
    # Once it is known to be fast, hand-overs come every ~10 ms, not every 100 ms.
    assert gaps and max(gaps) < 0.06, gaps
    assert all(len(batch) >= FAST_ITEMS for _, batch in out[2:-1])


async def test_a_slow_stream_waits_for_the_slow_interval() -> None:
    out = await collect(coalesced(paced(list(range(12)), 0.02), interval=0.05, fast_interval=0.005))
    gaps = [b - a for (a, _), (b, _) in zip(out, out[1:], strict=False)]
    # After the first hand-over the pace is not known yet: the second comes with the next batch.
    assert gaps[0] < 0.045, gaps
    assert min(gaps[1:-1]) >= 0.045, gaps  # the last hand-over comes when the stream ends
    assert [x for _, batch in out for x in batch] == list(range(12))


async def test_an_error_of_the_source_reaches_the_consumer_after_what_came_before() -> None:
    async def failing() -> AsyncIterator[list[int]]:
        yield [1]
        yield [2]
        raise RuntimeError("broken")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="broken"):
        async for batch in coalesced(failing(), interval=0.001):
            seen.extend(batch)
    assert seen == [1, 2]


async def test_closing_the_consumer_closes_the_source() -> None:
    closed: list[bool] = []
    stream = coalesced(paced(list(range(1000)), 0.001, closed), interval=0.005)
    async with contextlib.aclosing(stream) as batches:
        async for _ in batches:
            break
    await asyncio.sleep(0.01)
    assert closed == [True]


async def test_the_end_of_a_stream_is_not_held_back_by_the_interval() -> None:
    async def quick() -> AsyncIterator[list[int]]:
        yield [0]
        await asyncio.sleep(0.01)
        yield [1]
        yield [2]

    out = await collect(coalesced(quick(), interval=0.5, fast_interval=0.5))
    assert [x for _, batch in out for x in batch] == [0, 1, 2]
    assert out[-1][0] < 0.2, out  # not 0.5 s after the first hand-over


async def test_a_stream_read_in_big_batches_is_fast() -> None:
    """One read of a fast stream holds many events: it is fast by what it brings."""
    async def big_reads() -> AsyncIterator[list[int]]:
        for start in range(0, 600, 10):
            yield list(range(start, start + 10))
            await asyncio.sleep(0.002)

    out = await collect(coalesced(big_reads(), interval=0.1, fast_interval=0.01))
    gaps = [b - a for (a, _), (b, _) in zip(out[1:], out[2:], strict=False)]
    assert gaps and max(gaps) < 0.06, gaps
    assert [x for _, batch in out for x in batch] == list(range(600))


async def test_an_early_batch_goes_with_the_next_one_not_at_a_wake_up_of_its_own() -> None:
    """A slow stream's batch that comes inside the window waits for the next
    batch after the window (whose arrival wakes the app anyway): every
    hand-over happens as a batch arrives, none at a timer between two."""
    arrivals: list[float] = []
    start = time.monotonic()

    async def source() -> AsyncIterator[list[int]]:
        for item in range(10):
            arrivals.append(time.monotonic() - start)
            yield [item]
            await asyncio.sleep(0.03)

    out = []
    async for batch in coalesced(source(), interval=0.045, fast_interval=0.045):
        out.append((time.monotonic() - start, batch))
    assert [x for _, batch in out for x in batch] == list(range(10))
    for handed, batch in out[:-1]:  # (the last goes when the stream ends)
        since = min(handed - a for a in arrivals if a <= handed + 0.001)
        assert since < 0.008, (handed, arrivals)  # at an arrival, not ~15 ms after one
    assert any(len(batch) > 1 for _, batch in out)  # merged


async def test_an_early_batch_is_not_held_long_when_nothing_follows() -> None:
    async def source() -> AsyncIterator[list[int]]:
        yield [0]
        await asyncio.sleep(0.01)
        yield [1]
        await asyncio.sleep(0.5)
        yield [2]

    out = await collect(coalesced(source(), interval=0.05, fast_interval=0.05))
    assert [batch for _, batch in out] == [[0], [1], [2]]
    assert out[1][0] < 0.2, out  # about a window after its own, not with the batch 0.5 s later
