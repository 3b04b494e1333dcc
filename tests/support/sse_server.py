"""A real HTTP server on 127.0.0.1 that speaks the OpenAI and Anthropic
streaming formats, for integration tests and benchmarks.

Tests queue `Reply` objects (or install a `responder` function); each request
takes the next one. A reply can stream chunks with pauses (or wait for the
test: a `threading.Event` among the chunks holds the rest back until it is
set), stall, drop the
connection mid-body, or answer with an HTTP error. The server records every
request and notices when a client hangs up mid-stream.

Run it by hand for trying the app:  python -m tests.support.sse_server --port 8765
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    """The default listen backlog (5) refuses connections when many tests stream at once."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-stream on purpose (cancel, [DONE] read early).
        pass


@dataclass
class Reply:
    status: int = 200
    chunks: list[bytes | float | threading.Event] = field(default_factory=list)
    """Body pieces; a float is a pause in seconds, an event holds the rest back until it is set."""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})
    drop: bool = False
    """Close the socket abruptly after the chunks (no end of the chunked body)."""
    chunked: bool = True


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


def sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def openai_chunk(content: str | None = None, *, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    d = dict(delta)
    if content is not None:
        d["content"] = content
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


def openai_text_reply(
    pieces: Iterable[str], *, delay: float = 0.0, finish: str = "stop", usage: bool = True, done: bool = True
) -> Reply:
    chunks: list[bytes | float | threading.Event] = [sse(openai_chunk("", role="assistant"))]
    count = 0
    for piece in pieces:
        if delay:
            chunks.append(delay)
        chunks.append(sse(openai_chunk(piece)))
        count += 1
    chunks.append(sse(openai_chunk(finish=finish)))
    if usage:
        chunks.append(
            sse({"id": "chatcmpl-test", "object": "chat.completion.chunk", "choices": [],
                 "usage": {"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count}})
        )
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return Reply(chunks=chunks)


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "error", "code": status}}).encode()
    return Reply(status=status, chunks=[body], headers={"content-type": "application/json", **(headers or {})}, chunked=False)


class SSETestServer:
    def __init__(self) -> None:
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[RecordedRequest], Reply] | None = None
        self.disconnects = 0
        self.models = ["test-model"]
        self.models_reply: Reply | None = None
        """When set, `GET .../models` plays this reply instead of listing `models`."""
        self.model_list_requests: list[RecordedRequest] = []
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: Reply) -> None:
        for reply in replies:
            self.replies.put(reply)

    def start(self) -> SSETestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SSETestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        try:
            return self.replies.get_nowait()
        except queue.Empty:
            if self.responder is not None:
                return self.responder(request)
            return error_reply(500, "no reply queued in the test server")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?")[0].rstrip("/").endswith("/models"):
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    server.model_list_requests.append(RecordedRequest(self.path, headers, None))
                    if server.models_reply is not None:
                        self._play(server.models_reply)
                        return
                    if "anthropic-version" in headers:  # Anthropic's shape: typed entries, paging fields
                        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                                for m in server.models]
                        ends = {"first_id": data[0]["id"], "last_id": data[-1]["id"]} if data else {}
                        body = json.dumps({"data": data, "has_more": False, **ends})
                    else:
                        body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})
                    self._send_plain(200, body.encode(), "application/json")
                else:
                    self._send_plain(404, b'{"error": {"message": "not found"}}', "application/json")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                request = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                server.requests.append(request)
                self._play(server._next_reply(request))

            def _send_plain(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _play(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunked:
                    self.send_header("transfer-encoding", "chunked")
                else:
                    size = sum(len(c) for c in reply.chunks if isinstance(c, bytes))
                    if not reply.drop:
                        self.send_header("content-length", str(size))
                    else:
                        self.send_header("content-length", str(size + 1000))
                self.end_headers()
                try:
                    for chunk in reply.chunks:
                        if isinstance(chunk, float | int):
                            self.wfile.flush()
                            time.sleep(chunk)
                            continue
                        if isinstance(chunk, threading.Event):
                            self.wfile.flush()
                            chunk.wait(30)
                            continue
                        if not chunk:
                            continue
                        if reply.chunked:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        else:
                            self.wfile.write(chunk)
                        self.wfile.flush()
                    if reply.drop:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if reply.chunked:
                        self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    server.disconnects += 1
                    self.close_connection = True

        return Handler


def main() -> None:
    """Serve a slow, endless-ish demo answer for trying the app by hand."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.03)
    args = parser.parse_args()
    srv = SSETestServer()
    srv._server.server_close()
    srv._server = _QuietServer(("127.0.0.1", args.port), srv._handler_class())
    text = "Streaming **from** the loopback server: token " + " ".join(str(i) for i in range(args.tokens)) + "."

    def respond(request: RecordedRequest) -> Reply:
        # Like servers that accept a final assistant message: continue from where it ends.
        messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
        start = 0
        if messages and messages[-1].get("role") == "assistant":
            partial = messages[-1].get("content") or ""
            start = len(partial) if text.startswith(partial) else 0
        rest = text[start:]
        pieces = [rest[i : i + 4] for i in range(0, len(rest), 4)]
        return openai_text_reply(pieces, delay=args.delay)

    srv.responder = respond
    print(f"serving on http://127.0.0.1:{args.port}/v1", flush=True)
    srv._server.serve_forever()


if __name__ == "__main__":
    main()
