"""Opening a long saved conversation: 1,000 messages (about 2 MB of text: the
generated answers of `run.py`, with code blocks, tables and lists) in a real
SQLite file, opened in the real app (headless, 100×40).

Prints: the time from asking to open it to its last screen painted (the median
of several opens), the time each Page Up takes while scrolling back through
older messages (mounted a page at a time; one second after opening, as a reader
looks at the screen first, and with the scroll animation off so that each step
is one jump), how many messages are mounted, and the memory the app holds for it.

usage: python benchmarks/opening.py [MESSAGES]   (default 1,000)"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from answer import generate_text  # noqa: E402

SIZE = (100, 40)


def build(path: Path, messages: int) -> tuple[int, int]:
    """A conversation of `messages` messages; its id and its size in characters."""
    from chat_tui.domain import MessageStatus, Role
    from chat_tui.store import Store

    store = Store.open(path)
    cid = store.create_conversation(provider="openai", model="bench", title="a long conversation")
    chars = 0
    answers = [generate_text(300 + 50 * (i % 9), seed=i) for i in range(25)]
    for i in range(messages // 2):
        question = f"Question {i}: tell me about the stream, with code and a table."
        answer = answers[i % len(answers)] + f"\n\nEnd of answer {i}."
        store.add_message(cid, Role.USER, question)
        mid = store.start_assistant(cid, model="bench", provider="openai")
        store.append(mid, answer)
        store.finish(mid, MessageStatus.COMPLETE, ttft_ms=200, duration_ms=4000,
                     usage={"prompt_tokens": 100, "completion_tokens": 900})
        chars += len(question) + len(answer)
    store.close()
    return cid, chars


async def measure(path: Path, cid: int, opens: int) -> dict[str, object]:
    from chat_tui.config import Settings
    from chat_tui.providers.demo import DemoProvider
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
    from chat_tui.ui.widgets.stream_view import MarkdownStreamView

    store = Store.open(path)
    app = ChatApp(store=store, provider=DemoProvider(), settings=Settings())
    MarkdownStreamView.blink = False
    out: dict[str, object] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        # Warm-up: the Markdown stack loads with the first answer drawn.
        await screen.load_conversation(cid)
        await pilot.pause()
        times = []
        for _ in range(opens):
            await screen.action_new_conversation()
            await pilot.pause()
            gc.collect()
            start = time.perf_counter()
            await screen.load_conversation(cid)
            # Until the screen with the conversation's last line has been painted.
            painted = asyncio.Event()
            screen.call_after_refresh(painted.set)
            await painted.wait()
            times.append(time.perf_counter() - start)
            await pilot.pause()
        last = screen.query(AssistantMessageView).last()
        assert last.body.text.endswith(f"End of answer {(len(store.messages(cid)) // 2) - 1}.")
        svg = app.export_screenshot()
        assert "End" in svg and "answer" in svg, "the end of the conversation is not on screen"
        out["open_ms"] = [t * 1000 for t in times]
        out["mounted"] = len(screen.query(UserMessageView)) + len(screen.query(AssistantMessageView))

        # Scrolling back, a page every 50 ms (a held Page Up key), one second
        # after opening (the reader looks at the last screen first), with the
        # scroll animation off. Smoothness is how long the app stops responding:
        # a task that asks to wake every 5 ms records how late it wakes.
        app.animation_level = "none"
        await asyncio.sleep(1.0)
        stalls: list[float] = []

        async def monitor() -> None:
            while True:
                start = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - start - 0.005)

        watcher = asyncio.create_task(monitor())
        for _ in range(60):
            screen.transcript.scroll_page_up(animate=False)
            await asyncio.sleep(0.05)
        await pilot.pause()
        watcher.cancel()
        out["stall_ms"] = [s * 1000 for s in stalls]
        out["mounted_after_scroll"] = len(screen.query(UserMessageView)) + len(screen.query(AssistantMessageView))

        # Memory held for the open conversation (Python objects), measured on a fresh open.
        await screen.action_new_conversation()
        await pilot.pause()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await screen.load_conversation(cid)
        await pilot.pause()
        gc.collect()
        out["memory_mb"] = (tracemalloc.get_traced_memory()[0] - before) / 1e6
        tracemalloc.stop()
    store.close()
    return out


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        cid, chars = build(path, messages)
        result = asyncio.run(measure(path, cid, opens=7))
    opens = result["open_ms"]
    stalls = result["stall_ms"]
    assert isinstance(opens, list) and isinstance(stalls, list)
    print(f"conversation: {messages:,} messages, {chars / 1e6:.1f} MB of text")
    print(f"open to last screen painted: median {statistics.median(opens):.0f} ms "
          f"(min {min(opens):.0f}, max {max(opens):.0f}, {len(opens)} opens)")
    print(f"messages mounted when open: {result['mounted']}; after 60 pages scrolled back: "
          f"{result['mounted_after_scroll']}")
    ordered = sorted(stalls)
    print(f"scrolling back 60 pages in 3 s: the app stopped responding for at most {max(stalls):.0f} ms "
          f"(p99 {ordered[int(0.99 * (len(ordered) - 1))]:.0f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms)")
    print(f"memory held for the open conversation: {result['memory_mb']:.1f} MB (text: {chars / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
