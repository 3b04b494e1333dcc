"""Compare this checkout's CPU per 1,000 tokens with another checkout's, paired.

usage: python benchmarks/ab.py OTHER_CHECKOUT [--sizes 500,2000] [--rounds 10] [--answers 3]

This machine's speed drifts by 10-30 % within minutes, more than most changes
save, so two `run.py` runs a few minutes apart compare the hours as much as the
builds. Here the two checkouts take turns, a fresh process each, `--answers`
answers per process (their median kept), `--rounds` times (the order swapped
every round); each round's difference is between runs seconds apart. Prints
each checkout's median and range, the median of the paired differences, and in
how many rounds this checkout used less CPU. Both run against the same loopback
server and are measured by the same harness (this checkout's `run.py`: only the
apps differ), streaming at 5,000 tokens/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one_process(checkout: Path, port: int, tokens: int, answers: int) -> float:
    """The median CPU per 1,000 tokens of `answers` answers streamed into `checkout`'s
    app, measured by this checkout's `run.py` (the same harness for both)."""
    env = dict(os.environ, PYTHONPATH=str(checkout / "src"))
    code = (
        "import asyncio, statistics, sys\n"
        f"sys.path.insert(0, {str(HERE)!r}); sys.path.insert(0, {str(checkout / 'src')!r})\n"
        "import run\n"
        "async def main():\n"
        "    out = []\n"
        f"    for _ in range({answers}):\n"
        f"        r = await run.run_app('http://127.0.0.1:{port}/v1', {tokens}, 5000, 60)\n"
        "        out.append(r.summary()['cpu_ms_per_1k'])\n"
        "    print(statistics.median(out))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"{checkout}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'failed'}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (its src/ and benchmarks/ are used)")
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--answers", type=int, default=3, help="answers per process (their median is kept)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from run import free_port, start_server

    this, other = HERE.parent.resolve(), args.other.resolve()
    if this == other:
        raise SystemExit("the other checkout is this one")
    port = free_port()
    server = start_server(port)
    try:
        for tokens in (int(size) for size in args.sizes.split(",")):
            figures: dict[Path, list[float]] = {this: [], other: []}
            for round_ in range(args.rounds):
                for checkout in (this, other) if round_ % 2 else (other, this):
                    figures[checkout].append(one_process(checkout, port, tokens, args.answers))
            ours, theirs = figures[this], figures[other]
            paired = [a - b for a, b in zip(ours, theirs)]
            print(
                f"{tokens:>6} tokens: this {statistics.median(ours):.1f} ms/1k ({min(ours):.0f}-{max(ours):.0f}), "
                f"other {statistics.median(theirs):.1f} ({min(theirs):.0f}-{max(theirs):.0f}); "
                f"paired difference {statistics.median(paired):+.1f} ms "
                f"({statistics.median(paired) / statistics.median(theirs):+.0%}), "
                f"this lower in {sum(d < 0 for d in paired)} of {len(paired)} rounds",
                flush=True,
            )
    finally:
        server.kill()


if __name__ == "__main__":
    main()
