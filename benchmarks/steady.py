"""CPU use at a typical pace: a 500-token answer at 50 tokens/s from a loopback
server (its own process), into the real app (headless, cursor blinking), then
5 s idle. Prints the share of one core used in each phase (process CPU time over
wall time, so other processes on the machine do not count).

usage: python benchmarks/steady.py [FRAME_RATE ...] [--tokens 500] [--rate 50] [--idle 5] [--repeat 1]

FRAME_RATE is the app's frame-rate setting; without one, the default (40) and
2 frames/s are measured, one after the other. A longer answer (--tokens 1500)
shows the usual case where the answer outgrows the screen and scrolls."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from run import free_port, send_enter, start_server  # noqa: E402


async def main_async(tokens: int, rate: float, idle: float, frame_rate: float | None = None) -> tuple[float, float]:
    """Share of one core (%) while streaming, then while idle (`frame_rate`: the app's default when None)."""
    from chat_tui.config import Settings
    from chat_tui.providers.openai_compat import OpenAICompatProvider
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.widgets.message_view import AssistantMessageView

    if frame_rate is None:
        frame_rate = Settings().frame_rate

    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp) / "bench.sqlite3")
            provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{port}/v1", model=f"bench-{tokens}-{rate:g}")
            app = ChatApp(store=store, provider=provider, settings=Settings(retries=0, frame_rate=frame_rate))
            async with app.run_test(size=(100, 40)) as pilot:
                await pilot.pause()
                await asyncio.sleep(1.0)
                screen = app.screen
                screen.prompt.load_text("benchmark")
                cpu0, wall0 = time.process_time(), time.monotonic()
                turn = await send_enter(app)  # (not `pilot.press`: see `send_enter`)
                await turn.wait()
                assert screen._streaming_view is None and screen.query(AssistantMessageView)
                cpu1, wall1 = time.process_time(), time.monotonic()
                await asyncio.sleep(idle)
                cpu2, wall2 = time.process_time(), time.monotonic()
            store.close()
    finally:
        server.terminate()
        server.wait()
    streaming, idle_share = 100 * (cpu1 - cpu0) / (wall1 - wall0), 100 * (cpu2 - cpu1) / (wall2 - wall1)
    print(f"frame rate {frame_rate:g}: streaming {tokens} tokens at {rate:g} tokens/s: {streaming:.1f} % of one core "
          f"over {wall1 - wall0:.1f} s; idle afterwards (cursor gone, app open): {idle_share:.1f} % over "
          f"{wall2 - wall1:.1f} s", flush=True)
    return streaming, idle_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frame_rates", nargs="*", type=float, metavar="FRAME_RATE")
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="tokens per second")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds measured idle after the answer")
    parser.add_argument("--repeat", type=int, default=1, help="runs per frame rate (the summary gives the median)")
    args = parser.parse_args()
    from chat_tui.config import Settings

    default = Settings().frame_rate
    frame_rates = args.frame_rates or [default, 2.0]
    results: dict[float, list[tuple[float, float]]] = {}
    for frame_rate in frame_rates:
        for _ in range(args.repeat):
            results.setdefault(frame_rate, []).append(
                asyncio.run(main_async(args.tokens, args.rate, args.idle, frame_rate)))
    print(f"\n{args.tokens} tokens at {args.rate:g} tokens/s, share of one core (median of {args.repeat}):")
    print("  frame rate | streaming | idle")
    for frame_rate, runs in results.items():
        streaming = sorted(r[0] for r in runs)[len(runs) // 2]
        idle_share = sorted(r[1] for r in runs)[len(runs) // 2]
        label = f"{frame_rate:g}" + (" (default)" if frame_rate == default else "")
        print(f"  {label:>10} | {streaming:7.1f} % | {idle_share:4.1f} %")


if __name__ == "__main__":
    main()
