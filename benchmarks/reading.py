"""Reading a fast stream: CPU per piece of an HTTP body streamed at 5,000
pieces/s from a loopback server (its own process), read with httpx as it comes
and through `PacedReads` (the provider's way), one after the other.

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


async def read_once(url: str, tokens: int, rate: float, paced: bool) -> tuple[float, int, int]:
    """(µs of CPU per piece, pieces, pauses)."""
    import httpx

    from chat_tui.providers.pacing import PacedReads

    async with httpx.AsyncClient(timeout=30) as client:
        body = {"model": f"bench-{tokens}-{rate:g}", "stream": True, "messages": []}
        pieces = 0
        cpu = time.process_time()
        async with client.stream("POST", url, json=body) as response:
            reads = PacedReads(response.aiter_bytes()) if paced else response.aiter_bytes()
            async for _ in reads:
                pieces += 1
        used = time.process_time() - cpu
    return used * 1e6 / max(1, pieces), pieces, reads.pauses if paced else 0  # type: ignore[union-attr]


async def main_async(tokens: int, rate: float, repeat: int) -> None:
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        await asyncio.sleep(0.5)
        figures: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeat):
            for paced in (False, True):
                per_piece, pieces, pauses = await read_once(url, tokens, rate, paced)
                figures[paced].append(per_piece)
                print(f"{'paced' if paced else 'as it comes'}: {pieces} pieces, {per_piece:.0f} µs of CPU each"
                      + (f", {pauses} pauses" if paced else ""))
        plain, paced_ = statistics.median(figures[False]), statistics.median(figures[True])
        print(f"\n{tokens} pieces at {rate:g}/s, whole-process CPU per piece (median of {repeat}): "
              f"as it comes {plain:.0f} µs, paced {paced_:.0f} µs ({plain / paced_:.1f}x less)")
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
