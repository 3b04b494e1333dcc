"""Read a streamed HTTP/1.1 body straight from its connection.

httpx hands a chunked body over one HTTP chunk at a time, and a fast provider
writes every token as its own chunk: each goes through h11's parser and five
layers of async generators (httpcore, its pool, httpx's transport, the bound
stream, the response): at 5,000 tokens/s, about 52 µs of CPU per token here,
against 30 µs read this way (`benchmarks/reading.py`, both with `PacedReads`).

So once httpx has connected, sent the request and read the response's headers
(its timeouts, proxies, TLS, redirects and errors stay as they are), the body
of a streamed answer is read here instead: whatever the connection has is read
at once (up to 64 KiB), de-chunked in one pass, and handed over as one piece,
however many HTTP chunks it held.

The connection is closed once the answer is read, as httpx closes it too
(the provider stops at the stream's end marker, before the body's last chunk,
so httpx cannot hand the connection to the next request either). Whenever this
reader is unsure (HTTP/2, a compressed body, an httpx or httpcore it does not
know), `direct_body` returns None and the body is read through httpx as usual.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

READ_SIZE = 65536
"""The most bytes taken from the connection in one read."""
MAX_LINE = 4096
"""The longest chunk-size line (with its extensions) or trailer line accepted."""
MAX_TRAILERS = 65536
"""The most bytes of trailer lines accepted after the last chunk."""

_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
"""A chunk-size line: the size in hexadecimal, maybe extensions (ignored)."""


def _malformed(what: str) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(f"Malformed chunked body: {what}.")


class ChunkedDecoder:
    """De-chunk an HTTP/1.1 chunked body (RFC 9112, section 7.1) fed in pieces
    of any size; `done` once the last chunk and the trailers are through."""

    def __init__(self) -> None:
        self._rest = b""
        """The start of a line that has not fully arrived."""
        self._left = 0
        """Bytes of the current chunk's data still to come."""
        self._crlf_due = False
        """The CRLF that ends a chunk's data comes next."""
        self._in_trailers = False
        self._trailer_bytes = 0
        self.done = False
        self.error: httpx.RemoteProtocolError | None = None
        """Bad framing found after some body (raised at the next `feed`)."""

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data` (with what was left over from earlier pieces).
        Bad framing raises, once the body before it has been handed over."""
        if self.error is not None:
            raise self.error
        out: list[bytes] = []
        try:
            self._feed(data, out)
        except httpx.RemoteProtocolError as error:
            if not out:
                raise
            self.error = error
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    def _feed(self, data: bytes, out: list[bytes]) -> None:
        if self._rest:
            data = self._rest + data
            self._rest = b""
        pos = 0
        end = len(data)
        left = self._left
        match_size = _SIZE_LINE.match
        while pos < end:
            if left or self._crlf_due:
                # The rest of a chunk that began in an earlier piece.
                take = min(left, end - pos)
                if take:
                    out.append(data[pos : pos + take])
                    pos += take
                    left -= take
                if left or end - pos < 2:
                    self._crlf_due = not left
                    break
                if data[pos : pos + 2] != b"\r\n":
                    raise _malformed("a chunk does not end with CRLF")
                pos += 2
                self._crlf_due = False
                continue
            if self._in_trailers:
                newline = data.find(b"\n", pos)
                if newline < 0:
                    break
                self._trailer_bytes += newline + 1 - pos
                if self._trailer_bytes > MAX_TRAILERS:
                    raise _malformed("too many trailers")
                self.done = data[pos:newline] in (b"", b"\r")
                pos = newline + 1
                if self.done:
                    break
                continue
            size = match_size(data, pos)
            if size is None:
                if data.find(b"\n", pos) >= 0 or end - pos > MAX_LINE:
                    raise _malformed("a chunk size is not a hexadecimal number")
                break  # the rest of the line is still to come
            start = size.end()
            stop = start + int(size.group(1), 16)
            if stop == start:
                self._in_trailers = True
                pos = start
            elif stop + 2 <= end:  # the whole chunk is here (the usual case)
                if data[stop : stop + 2] != b"\r\n":
                    raise _malformed("a chunk does not end with CRLF")
                out.append(data[start:stop])
                pos = stop + 2
            else:
                left = stop - start
                pos = start
        self._left = left
        if pos < end and not self.done:
            self._rest = data[pos:]
            if len(self._rest) > MAX_LINE + MAX_TRAILERS:
                raise _malformed("a line is too long")

    def at_eof(self) -> None:
        """The connection closed: an error unless the body was complete."""
        if self.error is not None:
            raise self.error
        if not self.done:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


class LengthDecoder:
    """A body of a known length (`Content-Length`)."""

    error = None

    def __init__(self, length: int) -> None:
        self._left = length
        self.done = length == 0

    def feed(self, data: bytes) -> bytes:
        data = data[: self._left]
        self._left -= len(data)
        self.done = not self._left
        return data

    def at_eof(self) -> None:
        if not self.done:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


class UntilCloseDecoder:
    """A body that ends when the server closes the connection."""

    done = False
    error = None

    def feed(self, data: bytes) -> bytes:
        return data

    def at_eof(self) -> None:
        self.done = True


def _h11_connection(response: httpx.Response) -> Any | None:
    """The h11 connection under httpx's and httpcore's stream wrappers, if it is
    where the httpx and httpcore this was written for keep it."""
    import h11

    node: Any = response.stream
    for _ in range(8):
        connection = getattr(node, "_connection", None)
        state = getattr(connection, "_h11_state", None)
        if isinstance(state, h11.Connection):
            return state
        node = getattr(node, "_stream", None) or getattr(node, "_httpcore_stream", None)
        if node is None:
            return None
    return None


def _decoder(headers: httpx.Headers) -> ChunkedDecoder | LengthDecoder | UntilCloseDecoder | None:
    if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None  # compressed: httpx decodes it
    encodings = [part.strip().lower() for part in headers.get_list("transfer-encoding", split_commas=True)]
    if encodings:
        return ChunkedDecoder() if encodings == ["chunked"] else None
    lengths = headers.get_list("content-length", split_commas=True)
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit():
            return None  # let httpx say what is wrong with it
        return LengthDecoder(int(lengths[0]))
    return UntilCloseDecoder()


def direct_body(response: httpx.Response, read_timeout: float | None) -> AsyncIterator[bytes] | None:
    """The body of `response` (whose headers were read, whose body was not),
    read from its connection in as few pieces as it arrives in; None when it
    should be read through httpx instead."""
    if response.http_version != "HTTP/1.1" or response.is_stream_consumed or response.is_closed:
        return None
    network = response.extensions.get("network_stream")
    if network is None or not callable(getattr(network, "read", None)):
        return None
    connection = _h11_connection(response)
    decoder = _decoder(response.headers)
    if connection is None or decoder is None:
        return None
    import h11

    if connection.their_state is not h11.SEND_BODY:
        return None
    buffered, closed = connection.trailing_data
    return _read(network, decoder, buffered, closed, read_timeout)


async def _read(
    network: Any,
    decoder: ChunkedDecoder | LengthDecoder | UntilCloseDecoder,
    buffered: bytes,
    closed: bool,
    read_timeout: float | None,
) -> AsyncIterator[bytes]:
    import httpcore

    data = buffered
    while True:
        if data:
            body = decoder.feed(data)
            if body:
                yield body
        if decoder.error is not None:
            raise decoder.error
        if decoder.done:
            return
        if closed:
            decoder.at_eof()
            return
        try:
            data = await network.read(READ_SIZE, timeout=read_timeout)
        except httpcore.TimeoutException as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from None
        except httpcore.NetworkError as exc:
            raise httpx.ReadError(str(exc) or "connection lost") from None
        closed = not data
