"""Engine pieces that need no network: the seam of a continuation, retry delays."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy, SeamTrimmed, TurnEnded
from chat_tui.engine.turn import SEAM_WINDOW, seam_overlap, seam_settled
from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers.base import ChatRequest
from chat_tui.providers.events import Finished, StreamEvent, StreamFailed, TextDelta
from chat_tui.store import Store


@pytest.mark.parametrize(
    ("existing", "continuation", "expected"),
    [
        ("The quick brown fox", "brown fox jumps", len("brown fox")),
        ("The quick brown fox", " jumps over", 0),
        ("hello world", "world", len("world")),  # the whole continuation repeats the end
        ("abab abab", "abab abab more", len("abab abab")),  # the longest overlap wins
        ("xyz abc", "abcdef", 0),  # "abc": shorter than the minimum of 4
        ("Hello ", " world", 1),  # both sides have white space: drop the doubled space
        ("para one\n\n", "\n\npara two", 2),
        ("Hello ", "   ", 3),
        ("", "anything", 0),
        ("anything", "", 0),
        ("ends with fox", "fox", 0),  # three characters only
        # After a line end, the next line's indentation is the continuation's own:
        ("def f():\n", "    return 1", 0),
        ("def f():\n", "\n    return 1", 1),
        ("- a\n", "  - nested", 0),
        ("para one\n\n", "\n  \n    code", 4),
        ("a word ", "\n- item", 0),  # after a space, a line end is new
        ("a word ", " \n- item", 1),
    ],
)
def test_seam_overlap(existing: str, continuation: str, expected: int) -> None:
    assert seam_overlap(existing, continuation) == expected


def test_seam_overlap_min_chars() -> None:
    assert seam_overlap("ends with fox", "fox and more", min_chars=3) == 3
    assert seam_overlap("ends with fox", "fox and more") == 0


def test_seam_overlap_matches_a_brute_force_reference() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        existing = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 12)))
        continuation = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 12)))
        got = seam_overlap(existing, continuation)
        assert 0 <= got <= len(continuation)
        if existing and continuation and existing[-1].isspace() and continuation[0].isspace():
            assert got == len(continuation) - len(continuation.lstrip())
        else:
            best = max((k for k in range(4, len(continuation) + 1) if existing.endswith(continuation[:k])), default=0)
            assert got == best, (existing, continuation)


def _settles_early(
    rng: random.Random, existing_chars: str, continuation_chars: str, longest: int, *, repeats: bool = True
) -> int:
    """Random seams: once `seam_settled` says so, no later text changes the
    overlap. How many settled before the continuation's end."""
    early = 0
    for _ in range(3000):
        existing = "".join(rng.choice(existing_chars) for _ in range(rng.randint(1, longest)))
        continuation = "".join(rng.choice(continuation_chars) for _ in range(rng.randint(1, longest + 6)))
        for i in range(1, len(continuation) + 1):
            if seam_settled(existing, continuation[:i], repeats=repeats):
                overlap = seam_overlap(existing, continuation[:i], repeats=repeats)
                later = [seam_overlap(existing, continuation[:j], repeats=repeats)
                         for j in range(i, len(continuation) + 1)]
                assert set(later) == {overlap}, (existing, continuation, i)
                early += i < len(continuation)
                break
    return early


def test_a_settled_seam_stays_settled() -> None:
    """The continuation can be shown without waiting for the whole window."""
    assert _settles_early(random.Random(11), "ab c", "ab cd", 14) > 1000  # it does settle early, most of the time


def test_a_settled_seam_stays_settled_across_line_ends() -> None:
    assert _settles_early(random.Random(13), "a \n", "a \n\t", 8) > 500


def test_a_settled_seam_stays_settled_with_prefill() -> None:
    assert _settles_early(random.Random(17), "ab \n", "ab \n\t", 8, repeats=False) > 1500


@pytest.mark.parametrize(
    ("existing", "held", "settled"),
    [
        ("The quick brown fox", "brown", False),  # "brown fox" may follow
        ("The quick brown fox", "brown fox", True),
        ("The quick brown fox", " jumps", True),  # occurs nowhere: nothing repeated
        ("The quick brown fox", "fox", True),  # only at the very end: no longer overlap possible
        ("Hello ", "  ", False),  # more white space may come
        ("Hello ", "  w", True),
        ("abc", "", False),
    ],
)
def test_seam_settled(existing: str, held: str, settled: bool) -> None:
    assert seam_settled(existing, held) is settled


def _error(retry_after: float | None = None) -> ProviderError:
    return ProviderError(ErrorKind.RATE_LIMIT, "slow down", status=429, retry_after=retry_after)


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(1, _error(7.5)) == 7.5
    assert policy.delay(3, _error(0)) == 0
    assert policy.delay(1, _error(3600)) == 60


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delays = [policy.delay(attempt, _error()) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > full * 0.1  # jittered, not constant


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert policy.attempts == 3
    assert policy.delay(1, _error()) <= policy.base_delay


class ScriptedProvider:
    """An in-memory provider that plays batches of events."""

    name = "scripted"
    model = "scripted-model"
    label = "scripted"
    supports_prefill = True

    def __init__(self, *scripts: list[list[StreamEvent]]) -> None:
        self.scripts = list(scripts)
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        self.requests.append(request)
        for batch in self.scripts.pop(0):
            yield batch

    async def aclose(self) -> None:
        return None


class AskedToGoOn(ScriptedProvider):
    """A provider without prefill: its model is asked to go on, in a message of
    its own, and may start by saying again the last words it said."""

    supports_prefill = False


class PacedProvider(ScriptedProvider):
    """Batches apart in time, as from a network (each is handed over on its own)."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        async for batch in super().stream(request):
            await asyncio.sleep(0.06)
            yield batch


async def _run(engine: ChatEngine, *args: object, **kwargs: object) -> tuple[str, TurnEnded, int]:
    shown, ended, trimmed = "", None, 0
    async for batch in engine.run_turn(*args, **kwargs):  # type: ignore[arg-type]
        for event in batch:
            if isinstance(event, TextDelta):
                shown += event.text
            elif isinstance(event, SeamTrimmed):
                trimmed += event.chars
            elif isinstance(event, TurnEnded):
                ended = event
    assert ended is not None
    return shown, ended, trimmed


async def test_continuation_drops_the_text_repeated_at_the_seam(tmp_path: Path) -> None:
    lost = ProviderError(ErrorKind.CONNECTION, "Connection lost.")
    first = [[TextDelta("The answer is forty")], [TextDelta("-two because"), StreamFailed(lost)]]
    # The continuation repeats "two because", split over several events and
    # batches: held back until the held text no longer occurs in the answer.
    tail = " of arithmetic, which " + "never changes. " * 5
    assert len(tail) > SEAM_WINDOW
    second = [[TextDelta("two be")], [TextDelta("cause"), TextDelta(tail[:10])], [TextDelta(tail[10:])],
              [Finished("stop")]]
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        engine = ChatEngine(store, AskedToGoOn(first, second))
        cid = engine.new_conversation()
        shown, ended, _ = await _run(engine, cid, "why?")
        assert ended.status == MessageStatus.INTERRUPTED
        assert shown == "The answer is forty-two because"

        shown, ended, trimmed = await _run(engine, cid, continue_message_id=ended.message_id)
        assert ended.status == MessageStatus.COMPLETE
        assert trimmed == len("two because")
        assert shown == tail
        message = store.get_message(ended.message_id)
        assert message is not None
        assert message.text == "The answer is forty-two because" + tail
    finally:
        store.close()


async def test_a_continuation_is_shown_as_soon_as_its_seam_is_settled(tmp_path: Path) -> None:
    """A continuation that repeats nothing is not held back for the whole
    seam window: its first piece that settles the seam is shown with it."""
    lost = ProviderError(ErrorKind.CONNECTION, "Connection lost.")
    first = [[TextDelta("Streaming from the server: token 1 2 3"), StreamFailed(lost)]]
    second = [[TextDelta(" 4 ")], [TextDelta("5 6")], [TextDelta(" 7 8")], [TextDelta(" 9" * 40)], [Finished("stop")]]
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        engine = ChatEngine(store, PacedProvider(first, second))
        cid = engine.new_conversation()
        _, ended, _ = await _run(engine, cid, "count")
        batches = []
        async for batch in engine.run_turn(cid, continue_message_id=ended.message_id):
            if text := "".join(e.text for e in batch if isinstance(e, TextDelta)):
                batches.append(text)
        # " 4 " occurs in nothing said so far: settled at once, well under SEAM_WINDOW characters.
        assert batches[:3] == [" 4 ", "5 6", " 7 8"]
        message = store.get_message(ended.message_id)
        assert message is not None and message.text == "Streaming from the server: token 1 2 3 4 5 6 7 8" + " 9" * 40
    finally:
        store.close()


async def test_short_continuation_is_resolved_when_the_stream_ends(tmp_path: Path) -> None:
    first = [[TextDelta("Counting: one two three"), Finished("length")]]
    second = [[TextDelta("two three four.")], [Finished("stop")]]
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        engine = ChatEngine(store, AskedToGoOn(first, second))
        cid = engine.new_conversation()
        _, ended, _ = await _run(engine, cid, "count")
        assert ended.status == MessageStatus.INTERRUPTED and ended.error is not None
        assert ended.error.kind == ErrorKind.LENGTH
        shown, ended, trimmed = await _run(engine, cid, continue_message_id=ended.message_id)
        assert (shown, trimmed, ended.status) == (" four.", len("two three"), MessageStatus.COMPLETE)
        message = store.get_message(ended.message_id)
        assert message is not None and message.text == "Counting: one two three four."
    finally:
        store.close()


@pytest.mark.parametrize(
    ("existing", "continuation"),
    [
        # Periodic text goes on where it stopped: a table's delimiter row, a count.
        ("| A | B | C | D |\n| --- | --- |", " --- | --- |\n| 1 | 2 | 3 | 4 |\n"),
        ("ha ha ha", " ha ha!"),
        ("The quick brown fox", "brown fox jumps"),  # even what would be a repeat when asked to go on
    ],
)
def test_with_prefill_only_doubled_white_space_is_dropped(existing: str, continuation: str) -> None:
    assert seam_overlap(existing, continuation) > 0  # asked to go on, this looks repeated
    assert seam_overlap(existing, continuation, repeats=False) == 0
    assert seam_settled(existing, continuation[:1], repeats=False)
    # White space is still doubled (Anthropic takes a prefill without its trailing white space).
    assert seam_overlap(existing + "\n\n", "\n\n" + continuation, repeats=False) == 2
    assert not seam_settled(existing + " ", " ", repeats=False)


async def test_a_table_continued_with_prefill_keeps_its_delimiter_row(tmp_path: Path) -> None:
    """The model continues its own answer (prefill): what merely looks like a
    repeat at the seam is the table going on, and is kept."""
    head = "| A | B | C | D |\n| --- | --- |"
    rest = " --- | --- |\n| 1 | 2 | 3 | 4 |\n"
    lost = ProviderError(ErrorKind.CONNECTION, "Connection lost.")
    first = [[TextDelta(head), StreamFailed(lost)]]
    second = [[TextDelta(rest[:3])], [TextDelta(rest[3:])], [Finished("stop")]]
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        provider = ScriptedProvider(first, second)
        engine = ChatEngine(store, provider)
        cid = engine.new_conversation()
        _, ended, _ = await _run(engine, cid, "a table")
        shown, ended, trimmed = await _run(engine, cid, continue_message_id=ended.message_id)
        assert provider.requests[-1].prefill
        assert (shown, trimmed, ended.status) == (rest, 0, MessageStatus.COMPLETE)
        message = store.get_message(ended.message_id)
        assert message is not None and message.text == head + rest
    finally:
        store.close()
