"""The app prepares its provider once its first frame is shown: the first
question's request then loads nothing (loading httpcore's async backend and the
body's reader cost ~30 ms of CPU that the first answer waited for)."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import asyncio, json, sys
from tests.support.sse_server import SSETestServer, openai_text_reply
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.openai_compat import OpenAICompatProvider

async def main():
    with SSETestServer() as server:
        server.queue(openai_text_reply(["Hello", " world"]))
        provider = OpenAICompatProvider(base_url=server.base_url, model="test-model")
        provider.prepare()
        before = set(sys.modules)
        text = ""
        request = ChatRequest(model="test-model", messages=[PromptMessage(role="user", content="hi")])
        async for batch in provider.stream(request):
            text += "".join(getattr(event, "text", "") or "" for event in batch)
        await provider.aclose()
        print(json.dumps({"text": text, "loaded": sorted(set(sys.modules) - before)}))

asyncio.run(main())
"""


def test_the_first_request_after_prepare_loads_no_module() -> None:
    result = subprocess.run([sys.executable, "-c", CODE], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["text"] == "Hello world"
    assert out["loaded"] == []
