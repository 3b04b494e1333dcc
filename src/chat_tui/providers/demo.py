"""The offline demo provider: scripted answers at a realistic pace.

It is what a new user sees with nothing configured, so it shows the whole
experience: headings, lists, a fenced code block, a table, and (with the tool
loop) a tool call. Everything it says is labelled as a demo and says how to
connect a real model. It also serves tests and benchmarks as an in-memory
provider with an adjustable pace.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Sequence

from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.events import (
    Finished,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageReported,
)

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
_TOOL_WORDS = re.compile(r"\b(what time|the time|time is it|date|today|calculate|calculator|compute|tools?)\b", re.IGNORECASE)
_EXPRESSION = re.compile(r"[\d(][\d\s+\-*/^%().]*[\d)]")
DEMO_NOTE = "*(This is a scripted demo answer: the demo model called a built-in tool and read its result back.)*"


def pick_tool_call(prompt: str, offered: set[str]) -> tuple[str, dict[str, str]] | None:
    """The tool call the demo makes for `prompt`, if it mentions time, a date, a calculation or tools."""
    if not _TOOL_WORDS.search(prompt):
        return None
    expressions = [m.strip() for m in _EXPRESSION.findall(prompt) if any(op in m for op in "+-*/^%")]
    if expressions and "calculator" in offered:
        return "calculator", {"expression": max(expressions, key=len)}
    if "current_datetime" in offered:
        return "current_datetime", {}
    if "calculator" in offered:
        return "calculator", {"expression": "(17 + 25) * 2"}
    return None


def answer_from_tool(messages: list[PromptMessage]) -> str:
    """Round two: an answer built from the tool result at the end of `messages`."""
    result = messages[-1]
    call = next(
        (c for m in reversed(messages) if m.role == "assistant" for c in m.tool_calls if c.id == result.tool_call_id),
        None,
    )
    name = call.name if call else "the tool"
    if result.content.startswith("Error:"):
        return f"The `{name}` tool reported a problem: {result.content[6:].strip()}\n\n{DEMO_NOTE}\n"
    if call is not None and call.name == "calculator":
        try:
            expression = json.loads(call.arguments or "{}").get("expression", "")
        except (ValueError, AttributeError):
            expression = call.arguments
        return f"The calculator says **{expression} = {result.content}**.\n\n{DEMO_NOTE}\n"
    if call is not None and call.name == "current_datetime":
        return f"According to the `current_datetime` tool, it is **{result.content}**.\n\n{DEMO_NOTE}\n"
    return f"The `{name}` tool returned:\n\n```\n{result.content}\n```\n\n{DEMO_NOTE}\n"


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
        if self.model != "demo":
            return f"demo · {self.model} (offline, scripted)"
        return "demo (offline, scripted)"

    async def list_models(self) -> list[str]:
        """The demo has one model: itself (whatever name it was given)."""
        return [self.model]

    async def aclose(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        prior = request.messages[:-1] if request.prefill else request.messages
        if prior and prior[-1].role == "tool":
            answer = answer_from_tool(prior)
        elif not request.prefill and (call := pick_tool_call(prompt, {t.name for t in request.tools})):
            async for batch in self._call_tool(*call):
                yield batch
            return
        else:
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

    async def _call_tool(self, name: str, arguments: dict[str, str]) -> AsyncIterator[Sequence[StreamEvent]]:
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        yield [TextDelta(f"Let me use the `{name}` tool for that.")]
        call_id = f"demo_call_{int(time.time() * 1000) % 1_000_000}"
        encoded = json.dumps(arguments)
        # The arguments stream in pieces at the demo's pace, as a real model's do,
        # so the call's row is seen growing with its spinner.
        pieces = tokenize(encoded) or [encoded]
        yield [ToolCallStarted(0, call_id, name)]
        for piece in pieces[:-1]:
            if self.tokens_per_second > 0:
                await asyncio.sleep(1 / self.tokens_per_second)
            yield [ToolCallArgumentsDelta(0, piece)]
        yield [
            ToolCallArgumentsDelta(0, pieces[-1]),
            ToolCallEnded(0, call_id, name, encoded),
            UsageReported({"prompt_tokens": 0, "completion_tokens": 12}),
            Finished("tool_calls"),
        ]
