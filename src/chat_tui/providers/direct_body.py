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

On a plain TCP connection (a local server: Ollama, vLLM, llama.cpp, the
fastest streams there are) even httpcore's read of the connection is skipped:
anyio, under httpcore, leaves the connection's asyncio transport paused between
reads, and each of its reads resumes it, waits a turn of the event loop for the
data and pauses it again, inside a timeout scope and two wrappers: about 10 µs
of CPU per token at 5,000 tokens/s. While the transport is paused nothing else
reads the socket, so this reader takes what has arrived straight from it
(`_SocketRead`), and waits through anyio's transport only when nothing has:
the same bytes in the same order, for half the CPU. Anything it does not
recognise (TLS, another event loop, another anyio) is read as before.

Once the answer's end marker has come, `DirectBody.drain` reads the body's
end (just behind it) and brings h11, which saw only the start of the body, to
the end of the message too: httpx then keeps the connection for the next
request (a tool round's follow-up, a quick next question), where it closed it
before, since the provider stops at the end marker, before the body's end. In
any doubt the connection is closed as before. Whenever this reader is unsure
of the body (HTTP/2, a compressed body, an httpx or httpcore it does not
know), `direct_body` returns None and the body is read through httpx as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

READ_SIZE = 65536
"""The most bytes taken from the connection in one read."""
MAX_LINE = 4096
"""The longest chunk-size line (with its extensions) or trailer line accepted."""
MAX_TRAILERS = 65536
"""The most bytes of trailer lines accepted after the last chunk."""

MAX_FILLER = 65536
"""The most bytes of body h11 is given to count through at the end (see
`DirectBody.drain`); beyond that the connection is not reused."""
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
        self.extra = False
        """Bytes came after the end of the body."""

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
                    self.extra = pos < end
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

    def completion(self) -> bytes | None:
        """Bytes that end the body from where this decoder stands: with them,
        another parser that was fed the same bytes reaches the body's end too.
        None when that cannot be worked out."""
        if self.error is not None:
            return None
        if self.done:
            return b""
        rest = self._rest
        line_end = b"\n" if rest.endswith(b"\r") else b"\r\n"
        if self._in_trailers:
            if not rest or rest == b"\r":
                return b"\n" if rest else b"\r\n"
            # A trailer cut short: end it as a field ("name: value").
            return (b"" if b":" in rest else b": x") + line_end + b"\r\n"
        if self._left or self._crlf_due:
            if self._left > MAX_FILLER:
                return None
            crlf = b"\n" if rest == b"\r" else b"\r\n"
            return b"x" * self._left + crlf + b"0\r\n\r\n"
        if rest:  # a chunk-size line cut short
            digits = re.match(rb"[0-9A-Fa-f]*", rest)
            if digits is None or not digits.group() or len(digits.group()) > 16:
                return None
            size = int(digits.group(), 16)
            if size > MAX_FILLER:
                return None
            return line_end + (b"x" * size + b"\r\n0\r\n\r\n" if size else b"\r\n")
        return b"0\r\n\r\n"


class LengthDecoder:
    """A body of a known length (`Content-Length`)."""

    error = None
    extra = False

    def __init__(self, length: int) -> None:
        self.length = length
        self._left = length
        self.done = length == 0

    def feed(self, data: bytes) -> bytes:
        self.extra = len(data) > self._left
        data = data[: self._left]
        self._left -= len(data)
        self.done = not self._left
        return data

    def completion(self) -> bytes | None:
        return b"\0" * self._left if self._left <= MAX_FILLER else None

    def at_eof(self) -> None:
        if not self.done:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


class UntilCloseDecoder:
    """A body that ends when the server closes the connection."""

    done = False
    error = None
    extra = False

    def feed(self, data: bytes) -> bytes:
        return data

    def completion(self) -> bytes | None:
        return None  # the connection ends with the body: nothing to reuse

    def at_eof(self) -> None:
        self.done = True


Decoder = ChunkedDecoder | LengthDecoder | UntilCloseDecoder


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


def _decoder(headers: httpx.Headers) -> Decoder | None:
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


def direct_body(response: httpx.Response, read_timeout: float | None) -> DirectBody | None:
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
    return DirectBody(network, connection, decoder, read_timeout)


class _SocketRead:
    """Reads of a plain TCP connection under anyio's asyncio stream, straight
    from its socket while its transport is paused (see the module's docstring)."""

    def __init__(self, transport: Any, protocol: Any, sock: socket.socket) -> None:
        self._transport = transport
        self._protocol = protocol
        self._sock = sock
        self.direct = 0
        """Reads that took their bytes straight from the socket (for tests)."""

    @classmethod
    def of(cls, network: Any) -> _SocketRead | None:
        """For httpcore's `network_stream`, if it is anyio's stream over a
        plain socket on a selector event loop (what this was written for)."""
        stream = getattr(network, "_stream", None)
        transport = getattr(stream, "_transport", None)
        protocol = getattr(stream, "_protocol", None)
        sock = getattr(transport, "_sock", None)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if (
            not isinstance(loop, asyncio.SelectorEventLoop)
            or type(sock) is not socket.socket
            or not callable(getattr(transport, "is_reading", None))
            or not callable(getattr(transport, "resume_reading", None))
            or not isinstance(getattr(protocol, "read_event", None), asyncio.Event)
            or not hasattr(protocol, "read_queue")
            or not hasattr(protocol, "is_at_eof")
            or transport.is_reading()
        ):
            return None
        return cls(transport, protocol, sock)

    async def read(self, size: int, timeout: float | None) -> bytes:
        """What has arrived (b"" at the connection's end), waiting at most `timeout` for it."""
        transport, protocol = self._transport, self._protocol
        queue = protocol.read_queue
        if not queue and not protocol.is_at_eof and protocol.exception is None and not transport.is_closing():
            if not transport.is_reading():  # (then the transport's reads cannot come between)
                try:
                    data = self._sock.recv(size)
                except (BlockingIOError, InterruptedError):
                    pass  # nothing yet: wait for it as anyio would
                except OSError as exc:
                    raise httpx.ReadError(str(exc) or "connection lost") from None
                else:
                    if data:
                        self.direct += 1
                        return data
                    # The peer closed: the transport's read below finds that too.
            if not protocol.read_event.is_set():
                transport.resume_reading()
                try:
                    async with asyncio.timeout(timeout):
                        await protocol.read_event.wait()
                except TimeoutError:
                    raise httpx.ReadTimeout("read timed out") from None
                finally:
                    transport.pause_reading()
        if not queue:
            if protocol.exception is not None:
                raise httpx.ReadError(str(protocol.exception) or "connection lost")
            return b""
        data = queue.popleft() if len(queue) == 1 else b"".join(queue)
        queue.clear()
        protocol.read_event.clear()
        return data


class DirectBody:
    """Iterate the body's pieces; then `drain` it, so that httpx can reuse the connection."""

    def __init__(self, network: Any, connection: Any, decoder: Decoder, read_timeout: float | None) -> None:
        self._network = network
        self.socket_read = _SocketRead.of(network)
        self._connection = connection
        self._decoder = decoder
        self._read_timeout = read_timeout
        self._buffered, self._closed = connection.trailing_data
        # What h11 was given (and will parse first) ends where this copy's state says.
        view = _decoder_like(decoder)
        if view is not None:
            with contextlib.suppress(httpx.RemoteProtocolError):
                view.feed(self._buffered)
        self._h11_view = view

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder = self._decoder
        data, self._buffered = self._buffered, b""
        while True:
            if data:
                body = decoder.feed(data)
                if body:
                    yield body
            if decoder.error is not None:
                raise decoder.error
            if decoder.done:
                return
            if self._closed:
                decoder.at_eof()
                return
            data = await self._read(self._read_timeout)

    async def _read(self, timeout: float | None) -> bytes:
        import httpcore

        if self.socket_read is not None:
            data = await self.socket_read.read(READ_SIZE, timeout)
            self._closed = not data
            return data
        try:
            data = await self._network.read(READ_SIZE, timeout=timeout)
        except httpcore.TimeoutException as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from None
        except httpcore.NetworkError as exc:
            raise httpx.ReadError(str(exc) or "connection lost") from None
        self._closed = not data
        return data

    async def drain(self, timeout: float = 0.05) -> bool:
        """The answer has ended (its end marker came): read what is left of the
        body (usually just its last, empty chunk, already on its way) for at most
        `timeout` seconds, and when the body then ended cleanly, bring h11 to the
        same point, so that httpx hands the connection to the next request (a
        tool round's follow-up skips a new connection and TLS handshake).
        True when the connection can be reused; otherwise it is closed as usual."""
        decoder = self._decoder
        deadline = time.monotonic() + timeout
        try:
            if self._buffered:
                decoder.feed(self._buffered)
                self._buffered = b""
            while not decoder.done and not self._closed and decoder.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                decoder.feed(await self._read(left))
        except (httpx.HTTPError, OSError):
            return False
        if not decoder.done or decoder.extra or self._h11_view is None:
            return False
        return _settle(self._connection, self._h11_view.completion())


def _decoder_like(decoder: Decoder) -> Decoder | None:
    if isinstance(decoder, ChunkedDecoder):
        return ChunkedDecoder()
    if isinstance(decoder, LengthDecoder):
        return LengthDecoder(decoder.length)
    return None


def _settle(connection: Any, completion: bytes | None) -> bool:
    """Give h11 the end of the body it has not seen, and let it read up to the
    end of the message: then httpcore finds the connection idle and keeps it.
    In any doubt the connection is marked failed, so that it is closed."""
    import h11

    try:
        if completion is None:
            raise ValueError("no way to end the body")
        if completion:  # (h11 takes no data as the connection's end)
            connection.receive_data(completion)
        while True:
            event = connection.next_event()
            if type(event) is h11.EndOfMessage:
                break
            if type(event) is not h11.Data:
                raise ValueError(f"unexpected {event!r}")
        if connection.their_state is not h11.DONE or connection.trailing_data != (b"", False):
            raise ValueError("h11 is not at the end of the message")
    except Exception:  # noqa: BLE001 - any doubt: the connection is not reused
        with contextlib.suppress(Exception):
            connection.send_failed()
        return False
    return True
