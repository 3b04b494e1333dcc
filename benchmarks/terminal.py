"""The app in a real terminal: run in a pseudo-terminal as a person's terminal
runs it (Textual's Linux driver, every byte written), it shows the generated
answer streamed by the loopback server (its own process), at 5,000 tokens/s
unless told otherwise.
Prints, per answer size, the app's CPU per 1,000 tokens from the question to
the stats line under the answer (its start and end included; every thread of
the process, read from /proc) and what it wrote to the terminal.

`run.py` runs the app headless, as the performance targets ask: that leaves out
what a terminal adds, turning each screen update into escape sequences and
writing them. This shows how much that is. Nothing here is a test.

usage: python benchmarks/terminal.py [--sizes 500,2000,8000] [--rate 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import SIZE, free_port, start_server  # noqa: E402


def process_cpu_ms(pid: int) -> float:
    """CPU time of every thread of `pid` so far, in ms (nanosecond counters)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e6


class Terminal:
    """The app in a pseudo-terminal of the benchmark's size; keeps what it writes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.output = bytearray()

    def read_until(self, marker: bytes | None, start: int, timeout: float) -> bool:
        """Read what the app writes until `marker` shows up after `start` (None:
        for `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.05)[0]:
                try:
                    self.output += os.read(self.fd, 1 << 16)
                except OSError:
                    return False
            if marker is not None and self.output.find(marker, start) != -1:
                return True
        return marker is None

    def drain(self, seconds: float) -> None:
        self.read_until(None, 0, seconds)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.fd)


def measure(port: int, tokens: int, rate: float, repeat: int) -> list[tuple[float, int]]:
    """(CPU ms per 1,000 tokens, bytes written) of each answer."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHAT_TUI_", "TEXTUAL", "OPENAI_", "ANTHROPIC_"))}
        env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8",
                    "CHAT_TUI_DATA_DIR": tmp, "CHAT_TUI_CONFIG": str(Path(tmp) / "none.toml"),
                    "PYTHONPATH": str(HERE.parent / "src")})
        env.pop("NO_COLOR", None)
        argv = [sys.executable, "-m", "chat_tui", "--base-url", f"http://127.0.0.1:{port}/v1",
                "--model", f"bench-{tokens}-{rate:g}"]
        terminal = Terminal(argv, env)
        try:
            if not terminal.read_until(b"Ask anything", 0, 30):
                raise SystemExit("the app did not start in its terminal")
            terminal.drain(1.0)  # (its warm-up after the first frame)
            results = []
            for _ in range(repeat):
                start = len(terminal.output)
                cpu = process_cpu_ms(terminal.proc.pid)
                os.write(terminal.fd, b"go\r")
                if not terminal.read_until(b"tok/s", start, 60 + 2 * tokens / rate):
                    raise SystemExit(f"the {tokens}-token answer did not end")
                used = process_cpu_ms(terminal.proc.pid) - cpu
                results.append((used * 1000 / tokens, len(terminal.output) - start))
                terminal.drain(0.5)  # (what follows the stats line is not counted)
            return results
        finally:
            terminal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,2000,8000")
    parser.add_argument("--rate", type=float, default=5000.0, help="tokens per second")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        print(f"the app in a {SIZE[0]}x{SIZE[1]} pseudo-terminal, {args.rate:,g} tokens/s from a loopback server\n")
        print(f"{'tokens':>6}  {'CPU per 1k tokens':>22}  {'written per answer':>20}  {'bytes per token':>15}")
        for tokens in (int(s) for s in args.sizes.split(",")):
            results = measure(port, tokens, args.rate, args.repeat)
            cpu = [c for c, _ in results]
            written = statistics.median(b for _, b in results)
            print(f"{tokens:>6}  {statistics.median(cpu):>7.0f} ms ({min(cpu):.0f}–{max(cpu):.0f})"
                  f"  {written / 1024:>16,.0f} KiB  {written / tokens:>15,.0f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
