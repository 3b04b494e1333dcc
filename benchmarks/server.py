"""A loopback OpenAI-format SSE server that streams the generated answer at a fixed rate.

Runs in its own process so that its CPU time is not counted as the client's.
usage: python benchmarks/server.py PORT   (requests say how many tokens and how fast)
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer import answer_tokens  # noqa: E402


def chunk(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    body = {"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        # The benchmark passes its parameters in the model name: "bench-<tokens>-<rate>".
        _, count, rate = body["model"].split("-")
        tokens = answer_tokens(int(count))
        rate_f = float(rate)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        start = time.monotonic()
        sent = 0
        try:
            while sent < len(tokens):
                due = min(len(tokens), int((time.monotonic() - start) * rate_f) + 1)
                data = b"".join(chunk(t) for t in tokens[sent:due])
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                sent = due
                pause = start + sent / rate_f - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            tail = chunk(finish="stop") + b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail))
            self.wfile.flush()
        except OSError:
            pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up mid-stream on purpose


def main() -> None:
    server = QuietServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
