"""Cold start: from launching `chat-tui` in a pseudo-terminal to its first painted
frame (the prompt's placeholder on screen). Prints the median of several runs."""

from __future__ import annotations

import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = b"sk anything \xc2\xb7 Enter to send"  # the prompt placeholder (its first letter is drawn under the cursor)


def once(data_dir: str) -> float:
    master, slave = pty.openpty()
    env = {**os.environ, "CHAT_TUI_DATA_DIR": data_dir, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("ANTHROPIC_API_KEY", None)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "chat_tui"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    seen = b""
    try:
        while MARKER not in seen:
            ready, _, _ = select.select([master], [], [], 10)
            if not ready:
                raise TimeoutError("no first frame in 10 s")
            seen += os.read(master, 65536)
        return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        once(tmp)  # warm the OS file cache; byte-compile
        times = [once(tmp) for _ in range(5)]
    print(f"cold start to first painted frame: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {len(times)} runs)")


if __name__ == "__main__":
    main()
