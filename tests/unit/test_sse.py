"""The incremental SSE decoder: line ends, reads split anywhere, UTF-8, limits."""

from __future__ import annotations

import random

import pytest

from chat_tui.providers.sse import SSEDecoder, SSEEvent


def feed_all(pieces: list[bytes], decoder: SSEDecoder | None = None) -> list[SSEEvent]:
    decoder = decoder or SSEDecoder()
    out: list[SSEEvent] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    return out


def every_split(body: bytes) -> list[list[bytes]]:
    """The body whole, one byte per read, and cut in two at every offset."""
    splits = [[body], [body[i : i + 1] for i in range(len(body))]]
    splits += [[body[:i], body[i:]] for i in range(1, len(body))]
    return splits


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(newline: bytes) -> None:
    body = newline.join([b"event: delta", b"data: one", b"", b"data: two", b"", b""])
    for pieces in every_split(body):
        assert feed_all(pieces) == [SSEEvent("delta", "one"), SSEEvent("message", "two")], pieces


def test_mixed_line_endings_in_one_stream() -> None:
    body = b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n"
    for pieces in every_split(body):
        assert [e.data for e in feed_all(pieces)] == ["a", "b", "c", "d"], pieces


def test_cr_split_from_its_lf_is_one_line_end_not_two() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    # Had the CR been taken as a line end on its own, the LF would be a blank
    # line and dispatch the event now.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: y\r") == []
    assert decoder.feed(b"\n\r") == [SSEEvent("message", "x\ny")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: z\n\n") == [SSEEvent("message", "z")]


def test_cr_ended_event_is_delivered_without_waiting_for_the_next_read() -> None:
    # A stream using CR line ends must not have its events (above all the
    # last one, often [DONE]) held back until more bytes arrive.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\rdata: y\r\r") == [SSEEvent("message", "x"), SSEEvent("message", "y")]
    assert decoder.feed(b"data: [DONE]\r\r") == [SSEEvent("message", "[DONE]")]
    assert not decoder.has_partial_event


def test_lf_after_a_cr_ended_read_is_skipped_once_only() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\xf0\x9f") == []  # half a character: nothing decoded yet
    assert decoder.feed(b"\x8e\x89") == []  # "🎉" on a line of its own: an unknown field
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [SSEEvent("message", "a")]


def test_multibyte_utf8_split_across_reads() -> None:
    text = "héllo 世界 🎉 ünïcödé"
    body = f"data: {text}\n\n".encode()
    for pieces in every_split(body):
        events = feed_all(pieces)
        assert events == [SSEEvent("message", text)], pieces
        assert "\ufffd" not in events[0].data


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert feed_all([b"data: a\xffb\n\n"]) == [SSEEvent("message", "a\ufffdb")]


def test_byte_order_mark_at_start_is_dropped_even_split() -> None:
    body = b"\xef\xbb\xbfdata: first\n\ndata: \xef\xbb\xbfsecond\n\n"
    for pieces in every_split(body):
        # Only the stream's first BOM goes; one inside a value is data.
        assert feed_all(pieces) == [SSEEvent("message", "first"), SSEEvent("message", "\ufeffsecond")], pieces


def test_comments_are_counted_and_ignored() -> None:
    decoder = SSEDecoder()
    events = feed_all([b": keep-alive\n\n: OPENROUTER PROCESSING\ndata: x\n: between\n\n"], decoder)
    assert events == [SSEEvent("message", "x")]
    assert decoder.comments == 3
    assert decoder.events == 1


def test_multi_line_data_is_joined_with_newline() -> None:
    body = b"data: first\ndata:second\ndata:  third\ndata\n\n"
    # One leading space is removed, not two; a bare "data" line adds an empty line.
    assert feed_all([body]) == [SSEEvent("message", "first\nsecond\n third\n")]


def test_fields_other_than_data_and_event() -> None:
    decoder = SSEDecoder()
    events = feed_all([b"id: 7\nretry: 100\nfoo: bar\nevent: ping\ndata: {}\n\n"], decoder)
    assert events == [SSEEvent("ping", "{}")]
    assert decoder.ignored_fields == 1


def test_event_type_resets_after_each_dispatch() -> None:
    events = feed_all([b"event: error\ndata: a\n\ndata: b\n\n"])
    assert events == [SSEEvent("error", "a"), SSEEvent("message", "b")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert feed_all([b"\n\n\nevent: x\n\n\r\n"]) == []


def test_event_without_trailing_blank_line_is_dropped() -> None:
    decoder = SSEDecoder()
    assert feed_all([b"data: complete\n\ndata: partial\n"], decoder) == [SSEEvent("message", "complete")]
    assert decoder.has_partial_event
    assert decoder.events == 1


def test_partial_line_is_reported_as_partial_event() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: complete\n\ndata: par")
    assert decoder.has_partial_event
    decoder.feed(b"tial\n\n")
    assert not decoder.has_partial_event


def test_overflow_of_one_event_sets_the_flag() -> None:
    decoder = SSEDecoder(max_event_chars=100)
    assert decoder.feed(b"data: " + b"x" * 50 + b"\n\n") == [SSEEvent("message", "x" * 50)]
    assert not decoder.overflow
    decoder.feed(b"data: " + b"y" * 60 + b"\ndata: " + b"z" * 60 + b"\n")
    assert decoder.overflow


def test_overflow_of_one_unterminated_line_sets_the_flag() -> None:
    decoder = SSEDecoder(max_event_chars=100)
    for _ in range(5):
        decoder.feed(b"data: " + b"x" * 30)
    assert decoder.overflow


def test_random_splits_match_whole_body() -> None:
    rng = random.Random(1234)
    lines = []
    for i in range(200):
        lines.append(f"event: e{i % 3}\r\n".encode() if i % 5 == 0 else b"")
        end = rng.choice([b"\n", b"\r\n", b"\r"])
        lines.append(f"data: {i} ✓ 𝄞 {'x' * (i % 17)}".encode() + end + end)
    body = b"".join(lines)
    expected = feed_all([body])
    assert len(expected) == 200
    for _ in range(50):
        pieces, i = [], 0
        while i < len(body):
            n = rng.randint(1, 9)
            pieces.append(body[i : i + n])
            i += n
        assert feed_all(pieces) == expected


class _LineByLine(SSEDecoder):
    """The decoder without its shortcut for reads of whole `data:` events."""

    def _feed_data_events(self, text: str) -> list[SSEEvent] | None:
        return None


def test_the_shortcut_for_data_events_reads_what_line_by_line_reading_reads() -> None:
    """Reads of whole `data:` events take a shortcut; mixed with everything else
    SSE allows (comments, other fields, multi-line data, `data` without a
    colon or without a space, blank lines more, CR and CRLF), cut anywhere,
    the events, the counts and what is left pending are the same."""
    rng = random.Random(77)
    kinds = [
        lambda i: f"data: {{\"n\": {i}, \"t\": \"x y\"}}\n\n",
        lambda i: f"data: {i}\n\n",
        lambda i: f"data:{i}\n\n",
        lambda i: f"data:  {i} two spaces\n\n",
        lambda i: ": keep-alive\n\n",
        lambda i: f"event: e{i}\ndata: {i}\n\n",
        lambda i: f"data: a{i}\ndata: b{i}\n\n",
        lambda i: "data\n\n",
        lambda i: f"data: {i}\n\n\n",
        lambda i: f"id: {i}\ndata: {i}\n\n",
        lambda i: f"data: {i}\r\n\r\n",
        lambda i: f"data: {i}\r\r",
        lambda i: f"datum: {i}\n\n",
        lambda i: f"data: ✓ 𝄞 {i}\n\n",
    ]
    checked_shortcut = 0
    for round_ in range(300):
        weights = [20, 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2] if round_ % 2 else [1] * len(kinds)
        body = "".join(rng.choices(kinds, weights)[0](i) for i in range(rng.randint(1, 40)))
        if rng.random() < 0.3:
            body += rng.choice(["data: unfinished", "data: done\n", ": c", "data: x\n\ndata: y"])
        raw = body.encode()
        pieces, i = [], 0
        while i < len(raw):
            n = rng.choice([1, 2, 7, 30, 200, 5000])
            pieces.append(raw[i : i + n])
            i += n
        fast, slow = SSEDecoder(), _LineByLine()
        for piece in pieces:
            got = fast.feed(piece)
            assert got == slow.feed(piece), (body, pieces)
            checked_shortcut += bool(got)
            assert fast.has_partial_event == slow.has_partial_event
        assert (fast.events, fast.comments, fast.ignored_fields) == (slow.events, slow.comments, slow.ignored_fields)
    assert checked_shortcut > 100


def test_the_shortcut_keeps_the_size_limit() -> None:
    for decoder in (SSEDecoder(max_event_chars=100), _LineByLine(max_event_chars=100)):
        assert decoder.feed(b"data: " + b"x" * 50 + b"\n\n") == [SSEEvent("message", "x" * 50)]
        decoder.feed(b"data: " + b"y" * 120 + b"\n\n")
        assert decoder.overflow
