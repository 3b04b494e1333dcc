"""Run chat-tui in a real pseudo-terminal and inspect every byte it writes.

`PtyProcess` spawns a command with a pty as its stdin, stdout and stderr (a
fixed size set with TIOCSWINSZ), keeps everything the program writes, and
feeds it to a `pyte` screen so that tests can also read what a person would
see. `terminal_problems` checks raw output for anything a payload could have
smuggled through: escape sequences the program itself never writes, C1
controls, stray C0 controls and invalid UTF-8.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[2]
_SCRUB = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY")


def pty_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(("CHAT_TUI_", "TEXTUAL"))}
    env.pop("NO_COLOR", None)
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "CHAT_TUI_DATA_DIR": str(data_dir),
                "CHAT_TUI_RETRIES": "0", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    env.update(extra or {})
    return env


def chat_tui(*args: str) -> list[str]:
    return [sys.executable, "-m", "chat_tui", *args]


class PtyProcess:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *, rows: int = 40, cols: int = 110) -> None:
        self.rows, self.cols = rows, cols
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=dict(env), cwd=ROOT,
            start_new_session=True, close_fds=True,
        )
        os.close(slave)
        self.fd = master
        self.output = bytearray()
        self.eof = False
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)

    # -- reading -----------------------------------------------------------------------
    def pump(self, seconds: float) -> None:
        """Read whatever arrives for `seconds` (less at end of output)."""
        deadline = time.monotonic() + seconds
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if ready:
                self._read()

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:  # EIO: every writer closed the terminal
            data = b""
        if not data:
            self.eof = True
            return
        self.output += data
        self._stream.feed(data)

    def wait_for(self, predicate: Callable[[PtyProcess], bool], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if self.eof or time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen within {timeout:g} s; the screen shows:\n{self.text}")
            self.pump(0.05)

    def wait_for_text(self, text: str, timeout: float = 15.0) -> None:
        self.wait_for(lambda p: text in p.text, f"{text!r} on the screen", timeout)

    def read_to_end(self, timeout: float = 30.0) -> int:
        """Read until the program exits and closes the terminal; its exit code."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.pump(0.1)
            if self.proc.poll() is not None:
                self.pump(0.2)
                break
        try:
            return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.proc.args} did not exit within {timeout:g} s") from None

    def line(self, y: int) -> str:
        # (Not pyte's `display`: it trips over some zero-width characters.)
        row = self.screen.buffer[y]
        return "".join(row[x].data for x in range(self.screen.columns))

    @property
    def text(self) -> str:
        return "\n".join(self.line(y) for y in range(self.screen.lines))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- writing -----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        os.close(self.fd)


def run_in_pty(argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 30.0,
               cols: int = 110) -> tuple[int, bytes, str]:
    """Run a command to its end in a terminal: exit code, bytes written, final screen."""
    process = PtyProcess(argv, env, rows=60, cols=cols)
    try:
        code = process.read_to_end(timeout)
        return code, bytes(process.output), process.text
    finally:
        process.close()


# -- what must never reach the terminal ------------------------------------------------
_SEQUENCE = re.compile(
    rb"\x1b(?:\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI
    rb"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    rb"|[\x20-\x2f]*[\x30-\x7e]?)",  # any other escape
)

TEXTUAL_SEQUENCES = re.compile(
    rb"\x1b\[[0-9;:]*m"  # colours and styles
    rb"|\x1b\[\d+;\d+H"  # cursor to a cell (always with a row and a column)
    rb"|\x1b\[\?[\d;]+[hl]"  # terminal modes: alternate screen, mouse, bracketed paste, cursor, sync
    rb"|\x1b\[\?\d+\$p"  # mode queries
    rb"|\x1b\[>\d+u|\x1b\[<u"  # keyboard protocol on and off
    rb"|\x1b\]22;[a-z-]*\x07"  # mouse pointer shape
)
"""Every escape sequence Textual writes in these tests (none of them can set a
title, the clipboard or a hyperlink, clear the screen or move the cursor
relative to the page)."""

RICH_SEQUENCES = re.compile(rb"\x1b\[[0-9;]*m")
"""Rich's console (`chat-tui ask` on a terminal) writes colours and styles only."""

NO_SEQUENCES = re.compile(rb"(?!)")
"""Plain output (`list`, `export`) writes none at all."""

_C1 = re.compile("[\x80-\x9f]")
_INVALID = re.compile("[\udc80-\udcff]")
_C0 = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def terminal_problems(output: bytes, allowed: re.Pattern[bytes]) -> list[str]:
    """What in `output` a program writing only `allowed` sequences and text cannot have written."""
    problems = []
    foreign = sorted({m.group() for m in _SEQUENCE.finditer(output) if not allowed.fullmatch(m.group())})
    if foreign:
        problems.append(f"escape sequences the program never writes: {foreign[:10]!r}")
    rest = _SEQUENCE.sub(b"", output)
    if stray := sorted(set(_C0.findall(rest))):
        problems.append(f"stray control characters: {stray!r}")
    text = output.decode("utf-8", "surrogateescape")
    if c1 := sorted(set(_C1.findall(text))):
        problems.append(f"C1 control characters: {c1!r}")
    if _INVALID.search(text):
        problems.append("bytes that are not UTF-8")
    return problems
