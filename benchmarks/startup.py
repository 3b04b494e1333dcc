"""Cold start: from launching `chat-tui` in a pseudo-terminal to its first painted
frame (the prompt's placeholder on screen), on the demo provider and with an
API key set. Prints the median of several runs, and beside it the same for a
minimal Textual app (a label, a text area and a footer), which is the floor any
Textual app starts from on this machine."""

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


MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Label, TextArea

class Minimal(App):
    def compose(self):
        yield Label("minimal")
        yield TextArea(placeholder="Ask anything \u00b7 Enter to send")
        yield Footer()

Minimal().run()
"""


def once(data_dir: str, command: list[str] | None = None, key: bool = False) -> float:
    master, slave = pty.openpty()
    env = {**os.environ, "CHAT_TUI_DATA_DIR": data_dir, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("OPENAI_API_KEY", None)
    if key:
        # An OpenAI-compatible provider, as with a key configured (nothing is sent
        # before a question).
        env["OPENAI_API_KEY"] = "sk-benchmark-not-used"
        env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    # As installed: Python keeps the compiled modules (some shells turn that off).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("ANTHROPIC_API_KEY", None)
    start = time.perf_counter()
    proc = subprocess.Popen(command or [sys.executable, "-m", "chat_tui"], stdin=slave, stdout=slave, stderr=slave, env=env,
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
    minimal = [sys.executable, "-c", MINIMAL_APP]
    with tempfile.TemporaryDirectory() as tmp:
        once(tmp)  # warm the OS file cache; byte-compile
        once(tmp, key=True)
        once(tmp, minimal)
        times = [once(tmp) for _ in range(5)]
        keyed = [once(tmp, key=True) for _ in range(5)]
        floor = [once(tmp, minimal) for _ in range(5)]
    print(f"cold start to first painted frame: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {len(times)} runs)")
    print(f"the same with an API key set (an OpenAI-compatible provider): "
          f"median {statistics.median(keyed) * 1000:.0f} ms "
          f"(min {min(keyed) * 1000:.0f}, max {max(keyed) * 1000:.0f})")
    print(f"a minimal Textual app, the same way: median {statistics.median(floor) * 1000:.0f} ms "
          f"(min {min(floor) * 1000:.0f}, max {max(floor) * 1000:.0f})")


if __name__ == "__main__":
    main()
