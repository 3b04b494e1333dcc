"""CPU per streamed chunk of the hot path, without the network: the SSE decoder and
the OpenAI chunk parser (ours), against the openai SDK's SSE decoder building its
typed `ChatCompletionChunk` objects on the same bytes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from answer import answer_tokens  # noqa: E402


def body(tokens: list[str]) -> bytes:
    chunks = []
    for token in tokens:
        obj = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1-mini",
               "system_fingerprint": "fp", "choices": [{"index": 0, "delta": {"content": token}, "logprobs": None,
                                                        "finish_reason": None}]}
        chunks.append(b"data: " + json.dumps(obj).encode() + b"\n\n")
    return b"".join(chunks) + b"data: [DONE]\n\n"


def ours(data: bytes, read: int) -> float:
    from chat_tui.providers.openai_compat import OpenAIStreamParser
    from chat_tui.providers.sse import SSEDecoder

    start = time.process_time()
    decoder, parser = SSEDecoder(), OpenAIStreamParser()
    for i in range(0, len(data), read):
        for event in decoder.feed(data[i : i + read]):
            parser.feed(event)
    parser.close()
    return time.process_time() - start


def sdk(data: bytes, read: int) -> float:
    from openai._streaming import SSEDecoder as SDKDecoder
    from openai.types.chat import ChatCompletionChunk

    start = time.process_time()
    decoder = SDKDecoder()
    pieces = (data[i : i + read] for i in range(0, len(data), read))
    for sse in decoder.iter_bytes(pieces):
        if sse.data.startswith("[DONE]"):
            break
        ChatCompletionChunk.model_validate(json.loads(sse.data))
    return time.process_time() - start


def main() -> None:
    tokens = answer_tokens(20000)
    data = body(tokens)
    for read in (300, 4096):
        a = min(ours(data, read) for _ in range(3))
        b = min(sdk(data, read) for _ in range(3))
        print(f"reads of {read:>4} bytes: ours {a / len(tokens) * 1e6:5.1f} µs/chunk, "
              f"openai SDK {b / len(tokens) * 1e6:5.1f} µs/chunk ({b / a:.1f}x)")


if __name__ == "__main__":
    main()
