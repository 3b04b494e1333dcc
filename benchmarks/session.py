"""A long session: an answer streamed into a conversation that already has many
messages on screen (mounted), as after chatting for a while or scrolling back.

Textual lays out every mounted widget at each frame of a streaming answer, so
the app unmounts the oldest messages when a question is sent (they come back on
scrolling up). This streams a 4,000-token answer at 1,500 tokens/s after 2, 60
and 200 short messages, all mounted when the conversation opens, and prints
the frames per second and the CPU time of Textual's layout per frame, with the
app's unmounting and (`--keep-all`) without it.

usage: python benchmarks/session.py [MESSAGES ...] [--keep-all]"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import run as bench  # noqa: E402


def conversation(messages: int):  # noqa: ANN201
    def prepare(store) -> int:  # noqa: ANN001
        from chat_tui.domain import MessageStatus, Role

        cid = store.create_conversation(provider="openai", model="bench", title="a long session")
        for i in range(messages // 2):
            store.add_message(cid, Role.USER, f"Question {i}: something short?")
            mid = store.start_assistant(cid, model="bench", provider="openai")
            store.append(mid, f"Answer {i}: a short paragraph that says a little.\n\n- one\n- two\n")
            store.finish(mid, MessageStatus.COMPLETE, ttft_ms=10, duration_ms=100)
        return cid

    return prepare


async def measure(base_url: str, messages: int) -> tuple[float, float, int]:
    """(frames/s, layout ms per frame, messages mounted while streaming)."""
    from textual._compositor import Compositor

    from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
    from chat_tui.ui.widgets.stream_view import MarkdownStreamView

    layouts: list[float] = []
    mounted: list[int] = []
    original_reflow = Compositor.reflow
    original_frame = MarkdownStreamView._frame

    def reflow(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        start = time.thread_time()
        try:
            return original_reflow(self, *args, **kwargs)
        finally:
            if mounted:  # streaming
                layouts.append(time.thread_time() - start)

    def frame(self: MarkdownStreamView) -> None:
        if not mounted and self.streaming:
            mounted.append(len(self.screen.query(UserMessageView)) + len(self.screen.query(AssistantMessageView)))
        original_frame(self)

    Compositor.reflow = reflow  # type: ignore[method-assign]
    MarkdownStreamView._frame = frame  # type: ignore[method-assign]
    try:
        result = await bench.run_app(base_url, 4000, 1500, 60, prepare=conversation(messages) if messages else None)
    finally:
        Compositor.reflow = original_reflow  # type: ignore[method-assign]
        MarkdownStreamView._frame = original_frame  # type: ignore[method-assign]
    fps = result.summary().get("fps") or 0.0
    return float(fps), statistics.median(layouts) * 1000 if layouts else 0.0, mounted[0] if mounted else 0


async def main_async(sizes: list[int], keep_all: bool) -> None:
    from chat_tui.ui.screens.chat import ChatScreen

    # Every message mounted on opening, as if the session had been chatted live.
    ChatScreen.PAGE, ChatScreen.PAGE_CHARS = 10**6, 10**9
    if keep_all:
        ChatScreen.RETIRE_AT_LEAST = 10**6
    port = bench.free_port()
    server = bench.start_server(port)
    try:
        print(bench.machine_info())
        print(f"a 4,000-token answer at 1,500 tokens/s; {'every message kept mounted' if keep_all else 'the app as it is'}")
        print(f"{'messages':>9} {'mounted':>8} {'frames/s':>9} {'layout per frame':>17}")
        for messages in sizes:
            fps, layout, mounted = await measure(f"http://127.0.0.1:{port}/v1", messages)
            print(f"{messages:>9} {mounted:>8} {fps:>9.1f} {layout:>14.1f} ms", flush=True)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, metavar="MESSAGES")
    parser.add_argument("--keep-all", action="store_true", help="never unmount older messages (as before)")
    args = parser.parse_args()
    asyncio.run(main_async(args.sizes or [2, 60, 200], args.keep_all))


if __name__ == "__main__":
    main()
