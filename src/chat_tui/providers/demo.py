"""The offline demo provider: scripted answers at a realistic pace.

It is what a new user sees with nothing configured, so it shows the whole
experience: headings, lists, a fenced code block, a table, and (with the tool
loop) a tool call. Everything it says is labelled as a demo and says how to
connect a real model. It also serves tests and benchmarks as an in-memory
provider with an adjustable pace.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence

from chat_tui.providers.base import ChatRequest
from chat_tui.providers.events import Finished, StreamEvent, TextDelta, UsageReported

HOW_TO_CONNECT = (
    "Set `OPENAI_API_KEY` (or `ANTHROPIC_API_KEY`), or point chat-tui at any "
    "OpenAI-compatible server with `--base-url http://localhost:11434/v1` (Ollama, "
    "vLLM, llama.cpp, LM Studio…)."
)

WELCOME = f"""## Welcome to chat-tui

You are talking to the **built-in demo model**: it runs offline and its answers are scripted, so you can try everything before connecting a real model.

What to try:

- Type a message and press **Enter**; the answer streams in token by token.
- Press **Esc** while it streams to stop it: what arrived is kept.
- Ask for *code* or a *table* to see how they render.

```python
def fibonacci(n: int) -> list[int]:
    \"\"\"The first n Fibonacci numbers.\"\"\"
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]
```

| Key | Action |
| --- | --- |
| Enter | Send |
| Esc | Stop the answer |
| Ctrl+N | New conversation |

> To use a real model: {HOW_TO_CONNECT}
"""

CODE = """Here is a small, complete example: an async function that fetches several URLs concurrently and reports their status codes.

```python
import asyncio

import httpx


async def fetch_all(urls: list[str]) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=10) as client:
        responses = await asyncio.gather(
            *(client.get(url) for url in urls), return_exceptions=True
        )
    return {
        url: r.status_code if isinstance(r, httpx.Response) else -1
        for url, r in zip(urls, responses)
    }


if __name__ == "__main__":
    print(asyncio.run(fetch_all(["https://example.com"])))
```

Notes:

1. `asyncio.gather` runs the requests **concurrently**.
2. `return_exceptions=True` keeps one failure from cancelling the rest.
3. One shared `AsyncClient` reuses connections.

*(This is a scripted demo answer.)*
"""

TABLE = """Here is a comparison of a few sorting algorithms:

| Algorithm | Best | Average | Worst | Stable |
| --- | --- | --- | --- | --- |
| Quicksort | O(n log n) | O(n log n) | O(n²) | No |
| Merge sort | O(n log n) | O(n log n) | O(n log n) | Yes |
| Heapsort | O(n log n) | O(n log n) | O(n log n) | No |
| Insertion sort | O(n) | O(n²) | O(n²) | Yes |
| Timsort | O(n) | O(n log n) | O(n log n) | Yes |

### When to use which

- **Timsort** (Python's `sorted`) is the right default for real data.
- **Heapsort** when memory is tight and worst-case time matters.
- **Insertion sort** for tiny or nearly sorted inputs.

*(This is a scripted demo answer.)*
"""

LONG = "\n\n".join(
    f"### Part {i}\n\nThis paragraph number {i} is here to make the answer long, so that you can scroll up "
    "while it streams and see that the view stops following, then scroll back down to follow again."
    for i in range(1, 31)
)

_TOKEN = re.compile(r"\s*\S{1,6}|\s+")


def pick_answer(prompt: str) -> str:
    lowered = prompt.lower()
    if any(w in lowered for w in ("code", "python", "function", "script")):
        return CODE
    if any(w in lowered for w in ("table", "compare", "sort")):
        return TABLE
    if "long" in lowered:
        return LONG
    return WELCOME


def tokenize(text: str) -> list[str]:
    """Split text into token-sized pieces that join back to it exactly."""
    return _TOKEN.findall(text)


class DemoProvider:
    name = "demo"
    supports_prefill = True

    def __init__(self, *, tokens_per_second: float = 60.0, first_token_delay: float = 0.3, model: str = "demo") -> None:
        self.model = model
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay

    @property
    def label(self) -> str:
        return "demo (offline, scripted)"

    async def aclose(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        answer = pick_answer(prompt)
        if request.prefill and request.messages and request.messages[-1].role == "assistant":
            partial = request.messages[-1].content
            if answer.startswith(partial):
                answer = answer[len(partial):]
        tokens = tokenize(answer)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        start = time.monotonic()
        sent = 0
        rate = self.tokens_per_second
        while sent < len(tokens):
            if rate > 0:
                due = min(len(tokens), max(sent + 1, int((time.monotonic() - start) * rate) + 1))
            else:
                due = len(tokens)
            yield [TextDelta("".join(tokens[sent:due]))]
            sent = due
            if rate > 0 and sent < len(tokens):
                await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        yield [
            UsageReported({"prompt_tokens": sum(len(tokenize(m.content)) for m in request.messages), "completion_tokens": len(tokens)}),
            Finished("stop"),
        ]
