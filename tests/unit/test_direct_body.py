"""The de-chunking behind `direct_body`: any split of the wire gives the same
body, and every malformed framing is an httpx protocol error (which the
provider turns into one line)."""

from __future__ import annotations

import httpx
import pytest

from chat_tui.providers.direct_body import (
    MAX_FILLER,
    MAX_LINE,
    ChunkedDecoder,
    LengthDecoder,
    UntilCloseDecoder,
    _settle,
)

PARTS = [b"data: {\"a\": 1}\n\n", b"x" * 300, b"\r\n\r\n", b"data: [DONE]\n\n"]
WIRE = (
    b"%x\r\n%s\r\n" % (len(PARTS[0]), PARTS[0])
    + b"%X;name=value;q=\"a;b\"\r\n%s\r\n" % (len(PARTS[1]), PARTS[1])  # upper-case size, extensions
    + b"%x \r\n%s\r\n" % (len(PARTS[2]), PARTS[2])  # whitespace before the line end
    + b"%x\r\n%s\r\n" % (len(PARTS[3]), PARTS[3])
    + b"0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n"
)
BODY = b"".join(PARTS)


def feed_all(pieces: list[bytes]) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    out = b"".join(decoder.feed(piece) for piece in pieces)
    return out, decoder


def test_the_whole_wire_at_once() -> None:
    body, decoder = feed_all([WIRE])
    assert body == BODY
    assert decoder.done
    decoder.at_eof()  # complete: no error


def test_every_cut_in_two_gives_the_same_body() -> None:
    for cut in range(1, len(WIRE)):
        body, decoder = feed_all([WIRE[:cut], WIRE[cut:]])
        assert (body, decoder.done) == (BODY, True), f"cut at {cut}"


def test_one_byte_at_a_time() -> None:
    body, decoder = feed_all([WIRE[i : i + 1] for i in range(len(WIRE))])
    assert body == BODY
    assert decoder.done


def test_bare_line_feeds_in_size_lines_and_trailers() -> None:
    body, decoder = feed_all([b"3\nabc\r\n0\nTrailer: 1\n\n"])
    assert (body, decoder.done) == (b"abc", True)


def test_not_done_until_the_trailers_end() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabc\r\n0\r\nX: 1\r\n") == b"abc"
    assert not decoder.done
    with pytest.raises(httpx.RemoteProtocolError):
        decoder.at_eof()
    decoder.feed(b"\r\n")
    assert decoder.done


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nabc\r\n",  # not hexadecimal
        b"0x3\r\nabc\r\n",  # Python's int() would take it; HTTP does not
        b"+3\r\nabc\r\n",
        b"-3\r\nabc\r\n",
        b"\r\nabc\r\n",  # no size at all
        b"3\r\nabcXY",  # the data does not end with CRLF
        b"1" * 17 + b"\r\n",  # a size beyond 16 hex digits
    ],
)
def test_malformed_framing_is_a_protocol_error(wire: bytes) -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(httpx.RemoteProtocolError, match="Malformed chunked body"):
        decoder.feed(wire)


def test_a_size_line_that_never_ends_is_refused() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"3;" + b"e" * (MAX_LINE // 2))  # may still end: waits
    with pytest.raises(httpx.RemoteProtocolError):
        decoder.feed(b"e" * MAX_LINE)


def test_endless_trailers_are_refused() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n")
    with pytest.raises(httpx.RemoteProtocolError, match="trailers"):
        for _ in range(10_000):
            decoder.feed(b"X-Padding: " + b"p" * 100 + b"\r\n")


def test_a_cut_off_body_is_an_error_at_eof() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"a\r\n01234") == b"01234"
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        decoder.at_eof()


def test_a_body_of_known_length() -> None:
    decoder = LengthDecoder(5)
    assert decoder.feed(b"abc") == b"abc"
    assert not decoder.done
    with pytest.raises(httpx.RemoteProtocolError):
        decoder.at_eof()
    assert decoder.feed(b"de-and-more") == b"de"  # nothing past the length
    assert decoder.done
    assert LengthDecoder(0).done


def test_a_body_until_the_connection_closes() -> None:
    decoder = UntilCloseDecoder()
    assert decoder.feed(b"abc") == b"abc"
    assert not decoder.done
    decoder.at_eof()
    assert decoder.done


def _h11_client_after_headers(head: bytes, buffered: bytes):  # type: ignore[no-untyped-def]
    """An h11 client connection that sent a request and read a response's
    headers, with `buffered` (the start of the body) in its buffer: where httpx
    leaves it before the body is read straight from the connection."""
    import h11

    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("host", "x"), ("content-length", "0")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(head + buffered)
    assert type(connection.next_event()) is h11.Response
    assert connection.their_state is h11.SEND_BODY
    return connection


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_h11_is_brought_to_the_end_of_the_message_wherever_its_buffer_stops(framing: str) -> None:
    """`DirectBody.drain` hands the connection back to httpx by ending, for h11,
    the body h11 saw only the start of: for every point where that start may
    stop, h11 reaches the end of the message with nothing left over."""
    import h11

    if framing == "chunked":
        head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        wire = WIRE
    else:
        head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(BODY)
        wire = BODY
    for cut in range(len(wire) + 1):
        connection = _h11_client_after_headers(head, wire[:cut])
        view = ChunkedDecoder() if framing == "chunked" else LengthDecoder(len(BODY))
        view.feed(wire[:cut])
        assert _settle(connection, view.completion()), f"cut at {cut}"
        assert (connection.our_state, connection.their_state) == (h11.DONE, h11.DONE)
        connection.start_next_cycle()  # what httpcore does with an idle connection
        assert connection.trailing_data == (b"", False)


def test_a_connection_in_doubt_is_marked_failed_so_that_it_is_closed() -> None:
    import h11

    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    connection = _h11_client_after_headers(head, WIRE[:40])
    assert not _settle(connection, None)
    assert connection.our_state is h11.ERROR  # httpcore closes a connection it cannot reuse
    connection = _h11_client_after_headers(head, WIRE[:40])
    assert not _settle(connection, b"0\r\n\r\n")  # a wrong ending: h11 finds it wrong
    assert h11.ERROR in (connection.our_state, connection.their_state)


def test_no_ending_for_h11_is_made_of_more_than_a_bounded_filler() -> None:
    cut_in_size = ChunkedDecoder()
    cut_in_size.feed(b"%x" % (MAX_FILLER * 16))  # a size line cut short: the size so far is too large
    cut_in_data = ChunkedDecoder()
    cut_in_data.feed(b"%x\r\nabc" % (MAX_FILLER * 2))
    assert cut_in_size.completion() is None and cut_in_data.completion() is None
    assert LengthDecoder(MAX_FILLER * 2).completion() is None
    small = ChunkedDecoder()
    small.feed(b"10\r\nabc")
    assert small.completion() == b"x" * 13 + b"\r\n0\r\n\r\n"
