"""Reading a fast stream: CPU per token of an SSE body streamed at 5,000
tokens/s (one HTTP chunk each, as providers send them) from a loopback server
(its own process), read four ways, one after the other: through httpx as it
comes, through httpx with `PacedReads`, and the provider's way (`direct_body`
then `PacedReads`: de-chunked straight from the connection), each read of the
connection through httpcore and anyio or (the provider's way on plain TCP)
straight from its socket.

usage: python benchmarks/reading.py [--tokens 8000] [--rate 5000] [--repeat 2]
"""

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

from run import free_port, start_server  # noqa: E402

MODES = ("httpx as it comes", "httpx paced", "direct paced, through httpcore", "direct paced")


async def read_once(url: str, tokens: int, rate: float, mode: str) -> tuple[float, int, int, int]:
    """(µs of CPU per token, tokens, pieces read, pauses)."""
    import httpx

    from chat_tui.providers.direct_body import direct_body
    from chat_tui.providers.pacing import PacedReads

    async with httpx.AsyncClient(timeout=30) as client:
        body = {"model": f"bench-{tokens}-{rate:g}", "stream": True, "messages": []}
        pieces = events = 0
        cpu = time.process_time()
        async with client.stream("POST", url, json=body) as response:
            chunks = response.aiter_bytes()
            if mode.startswith("direct paced"):
                direct = direct_body(response, 30.0)
                assert direct is not None, "the body cannot be read directly"
                if mode != "direct paced":
                    direct.socket_read = None  # each read through httpcore's and anyio's
                chunks = direct
            drains = mode.startswith("direct paced")
            reads = PacedReads(chunks, drains=drains) if mode != "httpx as it comes" else chunks
            async for chunk in reads:
                pieces += 1
                events += chunk.count(b"\n\n")
        used = time.process_time() - cpu
    return used * 1e6 / max(1, events), events, pieces, getattr(reads, "pauses", 0)


async def main_async(tokens: int, rate: float, repeat: int) -> None:
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        await asyncio.sleep(0.5)
        figures: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(repeat):
            for mode in MODES:
                per_token, events, pieces, pauses = await read_once(url, tokens, rate, mode)
                figures[mode].append(per_token)
                print(f"{mode}: {events} tokens in {pieces} pieces, {per_token:.0f} µs of CPU per token, "
                      f"{pauses} pauses")
        medians = {mode: statistics.median(values) for mode, values in figures.items()}
        plain = medians[MODES[0]]
        print(f"\n{tokens} tokens at {rate:g}/s, whole-process CPU per token (median of {repeat}):")
        for mode, value in medians.items():
            print(f"  {mode:30} {value:5.0f} µs ({plain / value:.1f}x less than as it comes)")
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8000)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main_async(args.tokens, args.rate, args.repeat))


if __name__ == "__main__":
    main()
