"""Streamed bodies read straight from the connection (`direct_body`), against
a loopback server that writes exact bytes: every framing a server may use,
broken framings, compressed bodies (read through httpx instead), and the
connection kept for the next request when the body ended cleanly."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from chat_tui.errors import ErrorKind
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.direct_body import direct_body
from chat_tui.providers.openai_compat import OpenAICompatProvider
from tests.support.collect import collect
from tests.support.sse_server import openai_chunk, sse

REQUEST = ChatRequest(model="m", messages=[PromptMessage("user", "hi")])
WORDS = [f"word{i} " for i in range(200)]
EVENTS = [sse(openai_chunk(word)) for word in WORDS] + [sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]


def chunked(pieces: list[bytes], *, end: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + end


def head(*headers: str) -> bytes:
    return ("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" + "".join(h + "\r\n" for h in headers)
            + "\r\n").encode()


@dataclass
class RawServer:
    """Answers each request with the next queued response, byte for byte, in
    one write; closes the connection when the response says so."""

    responses: list[tuple[bytes | list[bytes | float], bool]] = field(default_factory=list)
    """(what to write: bytes, or pieces with pauses in seconds between them; close after it?)"""
    connections: int = 0
    port: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                request_head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in request_head.decode().split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                wire, close = self.responses.pop(0)
                for piece in [wire] if isinstance(wire, bytes) else wire:
                    if isinstance(piece, float):
                        await asyncio.sleep(piece)
                    else:
                        writer.write(piece)
                        await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def raw_server(*responses: tuple[bytes | list[bytes | float], bool]) -> AsyncIterator[RawServer]:
    state = RawServer(list(responses))
    server = await asyncio.start_server(state._handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def stream_once(port: int, provider: OpenAICompatProvider | None = None):
    own = provider is None
    provider = provider or OpenAICompatProvider(base_url=f"http://127.0.0.1:{port}/v1", model="m", stall_timeout=2)
    try:
        return await collect(provider.stream(REQUEST))
    finally:
        if own:
            await provider.aclose()


async def test_a_body_that_arrived_at_once_is_read_in_a_few_pieces() -> None:
    wire = head("transfer-encoding: chunked") + chunked(EVENTS)
    async with raw_server((wire, False), (wire, False)) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
        async with client.stream("POST", url, json={}) as response:
            body = direct_body(response, 5.0)
            assert body is not None
            direct = [piece async for piece in body]
        async with client.stream("POST", url, json={}) as response:
            through_httpx = [piece async for piece in response.aiter_bytes()]
    assert b"".join(direct) == b"".join(through_httpx) == b"".join(EVENTS)
    assert len(through_httpx) == len(EVENTS)  # httpx: one piece per HTTP chunk
    assert len(direct) <= 3  # here: what the connection had, in one go


async def test_a_plain_connection_is_read_straight_from_its_socket() -> None:
    """On plain TCP (a local server) the reads skip httpcore and anyio and take
    what arrived from the socket itself, piece after piece as it comes."""
    body = chunked(EVENTS)
    wire = [head("transfer-encoding: chunked") + body[:1000], 0.05, body[1000:3000], 0.05, body[3000:]]
    async with raw_server((wire, False)) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
        async with client.stream("POST", url, json={}) as response:
            reader = direct_body(response, 5.0)
            assert reader is not None and reader.socket_read is not None
            pieces = []
            async for piece in reader:
                pieces.append(piece)
                await asyncio.sleep(0.08)  # as `PacedReads` pauses: what comes meanwhile waits in the socket
            assert reader.socket_read.direct >= 2
    assert b"".join(pieces) == b"".join(EVENTS)


async def test_what_anyio_had_taken_from_the_connection_comes_before_what_the_socket_holds() -> None:
    """Bytes the connection's transport read before the body was taken over
    (anyio keeps them in its queue) are handed over first, then the socket's."""
    body = chunked(EVENTS)
    wire = [head("transfer-encoding: chunked"), 0.05, body[:2000], 0.1, body[2000:]]
    async with raw_server((wire, False)) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
        async with client.stream("POST", url, json={}) as response:
            reader = direct_body(response, 5.0)
            assert reader is not None
            # (anyio's internals, as the reader itself knows them)
            stream = response.extensions["network_stream"]._stream
            stream._transport.resume_reading()
            for _ in range(100):
                if stream._protocol.read_queue:
                    break
                await asyncio.sleep(0.01)
            stream._transport.pause_reading()
            assert stream._protocol.read_queue  # the body's start, taken by the transport
            await asyncio.sleep(0.2)  # the rest waits in the socket meanwhile
            pieces = [piece async for piece in reader]
    assert b"".join(pieces) == b"".join(EVENTS)


async def test_a_stalled_plain_connection_keeps_the_text_and_says_it_stalled() -> None:
    wire = [head("transfer-encoding: chunked") + chunked(EVENTS[:10], end=b""), 1.0, chunked(EVENTS[10:])]
    async with raw_server((wire, True)) as server:
        provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{server.port}/v1", model="m", stall_timeout=0.2)
        try:
            got = await stream_once(server.port, provider)
        finally:
            await provider.aclose()
    assert got.text == "".join(WORDS[:10])
    assert got.error is not None and got.error.kind is ErrorKind.STALL


async def test_a_read_cancelled_while_it_waits_on_the_socket_leaves_the_next_request_whole() -> None:
    """Esc while the body's reader waits for more (the transport resumed for the
    wait): the connection is given up, and the provider's next request, on a new
    one, reads its answer whole."""
    slow = [head("transfer-encoding: chunked") + chunked(EVENTS[:10], end=b""), 2.0, chunked(EVENTS[10:])]
    whole = head("transfer-encoding: chunked") + chunked(EVENTS)
    async with raw_server((slow, True), (whole, False)) as server:
        provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{server.port}/v1", model="m", stall_timeout=5)
        try:
            got: list[str] = []
            some = asyncio.Event()

            async def read() -> None:
                async for batch in provider.stream(REQUEST):
                    got.extend(getattr(event, "text", "") for event in batch)
                    if "".join(got):
                        some.set()

            task = asyncio.create_task(read())
            await asyncio.wait_for(some.wait(), 5)
            await asyncio.sleep(0.05)  # the reader now waits for the rest
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert "".join(got) == "".join(WORDS[:10])
            again = await stream_once(server.port, provider)
        finally:
            await provider.aclose()
    assert (again.error, again.text) == (None, "".join(WORDS))
    assert server.connections == 2


async def test_chunk_extensions_upper_case_sizes_and_trailers() -> None:
    pieces = [b"%X;ext=\"1;2\"\r\n%s\r\n" % (len(e), e) for e in EVENTS]
    wire = head("transfer-encoding: chunked") + b"".join(pieces) + b"0\r\nx-checksum: abc\r\n\r\n"
    async with raw_server((wire, False)) as server:
        got = await stream_once(server.port)
    assert got.error is None
    assert (got.text, got.finish_reason, got.done) == ("".join(WORDS), "stop", True)


async def test_a_body_of_known_length_and_one_that_ends_when_the_connection_closes() -> None:
    body = b"".join(EVENTS)
    known = head(f"content-length: {len(body)}") + body
    until_close = head("connection: close") + body
    async with raw_server((known, False), (until_close, True)) as server:
        for _ in range(2):
            got = await stream_once(server.port)
            assert got.error is None
            assert (got.text, got.done) == ("".join(WORDS), True)


async def test_broken_framing_keeps_the_text_before_it_and_says_so_in_one_line() -> None:
    good = chunked(EVENTS[:50], end=b"")
    wire = head("transfer-encoding: chunked") + good + b"zz\r\nnot a chunk size\r\n"
    async with raw_server((wire, True)) as server:
        got = await stream_once(server.port)
    assert got.text == "".join(WORDS[:50])
    assert got.error is not None and got.error.kind is ErrorKind.CONNECTION
    assert "\n" not in got.error.message


async def test_a_body_cut_off_mid_chunk_is_a_lost_connection() -> None:
    wire = head("transfer-encoding: chunked") + chunked(EVENTS[:10], end=b"") + b"200\r\ndata: {\"partial"
    async with raw_server((wire, True)) as server:
        got = await stream_once(server.port)
    assert got.text == "".join(WORDS[:10])
    assert got.error is not None and got.error.kind is ErrorKind.CONNECTION


async def test_a_compressed_stream_is_read_through_httpx() -> None:
    wire = head("transfer-encoding: chunked", "content-encoding: gzip") + chunked([gzip.compress(b"".join(EVENTS))])
    async with raw_server((wire, False), (wire, False)) as server:
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
            async with client.stream("POST", url, json={}) as response:
                assert direct_body(response, 5.0) is None
        got = await stream_once(server.port)
    assert got.error is None
    assert got.text == "".join(WORDS)


async def test_the_connection_of_a_streamed_answer_serves_the_next_request() -> None:
    """The body's end comes just behind the answer's end marker: it is read too,
    and h11 brought to the end of the message, so that httpx keeps the connection
    (a tool round's follow-up needs no new connection or TLS handshake)."""
    wire = head("transfer-encoding: chunked") + chunked(EVENTS)
    known = head(f"content-length: {len(b''.join(EVENTS))}") + b"".join(EVENTS)
    async with raw_server((wire, False), (known, False), (wire, False)) as server:
        provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{server.port}/v1", model="m", stall_timeout=2)
        try:
            for _ in range(3):
                got = await stream_once(server.port, provider)
                assert got.error is None
                assert got.text == "".join(WORDS)
        finally:
            await provider.aclose()
    assert server.connections == 1


async def test_a_body_that_does_not_end_after_the_answer_closes_its_connection() -> None:
    """A server that keeps the body open after the end marker: the answer is
    whole at once, the connection is closed (not reused in an unknown state),
    and the next request opens another."""
    late = [head("transfer-encoding: chunked") + chunked(EVENTS, end=b""), 1.0, b"0\r\n\r\n"]
    wire = head("transfer-encoding: chunked") + chunked(EVENTS)
    async with raw_server((late, False), (wire, False)) as server:
        provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{server.port}/v1", model="m", stall_timeout=2)
        try:
            started = asyncio.get_running_loop().time()
            got = await stream_once(server.port, provider)
            assert asyncio.get_running_loop().time() - started < 0.5  # not held until the body's end
            assert (got.error, got.text) == (None, "".join(WORDS))
            got = await stream_once(server.port, provider)
            assert (got.error, got.text) == (None, "".join(WORDS))
        finally:
            await provider.aclose()
    assert server.connections == 2


async def test_over_tls_the_body_is_read_from_the_connection_and_the_connection_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS, as to a real provider: the decrypted body is read straight from
    the TLS stream, and the connection (with its TLS session) serves the next
    request."""
    import ssl

    import trustme

    import chat_tui.providers.direct_body as direct_module

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    authority_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(authority_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_file))

    direct_reads: list[bool] = []
    original = direct_module.direct_body

    def spy(response, read_timeout):  # type: ignore[no-untyped-def]
        body = original(response, read_timeout)
        direct_reads.append(body is not None)
        assert body is None or body.socket_read is None  # TLS: the decrypted stream is read, not the socket
        return body

    monkeypatch.setattr(direct_module, "direct_body", spy)
    wire = head("transfer-encoding: chunked") + chunked(EVENTS)
    state = RawServer([(wire, False), (wire, False)])
    server = await asyncio.start_server(state._handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    provider = OpenAICompatProvider(base_url=f"https://127.0.0.1:{port}/v1", model="m", stall_timeout=5)
    try:
        for _ in range(2):
            got = await collect(provider.stream(REQUEST))
            assert got.error is None
            assert got.text == "".join(WORDS)
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()
    assert direct_reads == [True, True]
    assert state.connections == 1
