"""CPU use at a typical pace: a 500-token answer at 50 tokens/s from a loopback
server (its own process), into the real app (headless, cursor blinking), then
5 s idle. Prints the share of one core used in each phase.

usage: python benchmarks/steady.py [FRAME_RATE]   (the app's frame-rate setting, default 60)"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from run import free_port, start_server  # noqa: E402

FRAME_RATE = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0


async def main_async(tokens: int, rate: float, idle: float) -> None:
    from chat_tui.config import Settings
    from chat_tui.providers.openai_compat import OpenAICompatProvider
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.widgets.message_view import AssistantMessageView

    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp) / "bench.sqlite3")
            provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{port}/v1", model=f"bench-{tokens}-{rate:g}")
            app = ChatApp(store=store, provider=provider, settings=Settings(retries=0, frame_rate=FRAME_RATE))
            async with app.run_test(size=(100, 40)) as pilot:
                await pilot.pause()
                await asyncio.sleep(1.0)
                screen = app.screen
                screen.prompt.load_text("benchmark")
                cpu0, wall0 = time.process_time(), time.monotonic()
                await pilot.press("enter")
                while not (screen.query(AssistantMessageView) and screen._streaming_view is None):
                    await asyncio.sleep(0.05)
                cpu1, wall1 = time.process_time(), time.monotonic()
                await asyncio.sleep(idle)
                cpu2, wall2 = time.process_time(), time.monotonic()
            store.close()
    finally:
        server.terminate()
        server.wait()
    print(f"streaming {tokens} tokens at {rate:g} tokens/s: {100 * (cpu1 - cpu0) / (wall1 - wall0):.1f} % of one core "
          f"over {wall1 - wall0:.1f} s")
    print(f"idle afterwards (cursor gone, app open): {100 * (cpu2 - cpu1) / (wall2 - wall1):.1f} % of one core "
          f"over {wall2 - wall1:.1f} s")


if __name__ == "__main__":
    asyncio.run(main_async(500, 50.0, 5.0))
