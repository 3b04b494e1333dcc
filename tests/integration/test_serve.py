"""`chat-tui serve`: the app in a web page.

The browser test starts the real server, opens its page in headless Chromium,
types a prompt into the terminal in the page, presses Enter and reads the
streamed answer back from what the page's terminal shows.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from chat_tui.cli import build_parser
from chat_tui.commands.serve import app_command, is_loopback
from chat_tui.domain import MessageStatus, Role
from chat_tui.providers.demo import CODE
from chat_tui.store import Store
from tests.support.cli import cli_env, command, run_cli

PROMPT = "write some python code"  # the demo model answers it with CODE
DEADLINE = 45.0  # seconds for the whole browser test, start to finish

# textual-serve's page keeps its xterm.js terminal to itself and draws it on a
# canvas, so there is no text in the DOM to read. This runs before the page's
# own script and keeps a reference to the terminal when xterm.js constructs it
# (its public `Terminal` sets `_addonManager` in its constructor); the test then
# reads the terminal's screen through xterm.js's public buffer API.
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, "_addonManager", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "_addonManager", {value, writable: true, configurable: true, enumerable: true});
    if (typeof this.loadAddon === "function" && typeof this.focus === "function") window.__chatTuiTerminal = this;
  },
});
"""

READ_SCREEN = """
const terminal = window.__chatTuiTerminal;
if (!terminal) return null;
const buffer = terminal.buffer.active;
const rows = [];
for (let y = 0; y < terminal.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : "");
}
return rows.join("\\n");
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


# --- the command the server runs for each browser session ---------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="the command goes through a POSIX shell")
def test_the_app_command_passes_the_options_on_quoted_for_the_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    given = {"--provider": "demo", "--model": "it's a \"model\"", "--system": "-be brief; echo $HOME `id` *",
             "--data-dir": "my data", "--stall-timeout": "5"}
    args = build_parser().parse_args(["serve", "--port", "8123", *[part for kv in given.items() for part in kv]])
    line = app_command(args)
    # Word by word as the shell that textual-serve starts it with sees it.
    shell = subprocess.run(f"printf '%s\\0' {line}", shell=True, check=True, capture_output=True, text=True, timeout=10)
    argv = shell.stdout.split("\0")[:-1]
    assert argv[:3] == [sys.executable, "-m", "chat_tui"]
    app_args = build_parser().parse_args(argv[3:])
    assert app_args.command is None  # the app itself, not `serve` again
    assert (app_args.provider, app_args.model, app_args.system_prompt, app_args.stall_timeout) == (
        "demo", given["--model"], given["--system"], 5.0)
    assert app_args.data_dir == str(tmp_path / "my data")  # absolute: whatever folder the session starts in
    for absent in ("profile", "base_url", "api_key_env"):  # not given: the app finds the same defaults itself
        assert not hasattr(app_args, absent)
    assert "8123" not in argv


@pytest.mark.parametrize(("given", "expected"), [
    (["--continue"], (True, None)),
    (["--resume", "7"], (False, 7)),
    ([], (False, None)),
])
def test_continue_and_resume_reach_every_session(given: list[str], expected: tuple[bool, int | None]) -> None:
    args = build_parser().parse_args(["serve", *given])
    argv = shlex.split(app_command(args))
    app_args = build_parser().parse_args(argv[3:])
    assert (app_args.continue_last, app_args.resume) == expected


def test_serve_resume_of_an_unknown_conversation_stops_before_listening(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", "--provider", "demo", "--resume", "42", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = stderr_lines(result)
    assert line == "chat-tui: No conversation 42: see `chat-tui list`."


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("10.0.0.1", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_textual_serve_is_loaded_only_by_serve() -> None:
    code = (
        "import json, sys\n"
        "from chat_tui.cli import build_parser\n"
        "build_parser().parse_args(['serve', '--port', '9999'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert "chat_tui" in loaded
    assert not loaded & {"textual_serve", "aiohttp", "aiohttp_jinja2", "jinja2"}


# --- failures: one line, before anything listens -------------------------------------------------


def test_serve_without_an_api_key_stops_before_listening(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", "--provider", "openai", "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stdout == ""  # no URL for a server that would fail in every session
    (line,) = stderr_lines(result)
    assert line.startswith("chat-tui: No API key")


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_a_port_in_use_is_one_line_and_only_other_hosts_are_warned_about(tmp_path: Path, host: str,
                                                                         warned: bool) -> None:
    with socket.socket() as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(tmp_path, "serve", "--host", host, "--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    *warnings, error = stderr_lines(result)
    assert error.startswith(f"chat-tui: cannot listen on {host} port {port}: ")
    if warned:
        (warning,) = warnings
        assert warning.startswith(f"chat-tui: warning: listening on {host}, not only on this machine")
        assert "API key" in warning
    else:
        assert warnings == []


# --- the page in a real browser -------------------------------------------------------------------


def chromium() -> tuple[str, str]:
    """Chromium and its WebDriver, or skip: the only reason this test may skip."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium is not installed (Debian/Ubuntu: apt-get install chromium chromium-driver)")
    return browser, driver


class Served:
    """`chat-tui serve` as a subprocess: its output collected as it comes."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        env = cli_env(data_dir, {"CHAT_TUI_DEMO_SPEED": "2000"})
        # Its own process group: the app sessions it starts can be ended with it.
        self.process = subprocess.Popen(command("serve", *args), env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        encoding="utf-8", start_new_session=True)
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        for stream, sink in ((self.process.stdout, self.stdout.put), (self.process.stderr, self.stderr.append)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, sink: Callable[[str], None]) -> None:
        for line in stream:
            sink(line)

    def first_line(self, timeout: float) -> str:
        try:
            return self.stdout.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"`chat-tui serve` printed nothing in {timeout:.0f} s; stderr: {''.join(self.stderr)!r}")

    def terminate(self, timeout: float = 15) -> int | None:
        """SIGTERM (what Ctrl+C does too), then the exit code, or None if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def others_left(self, timeout: float) -> list[str]:
        """Processes still running in the server's process group (the app sessions it started), once
        they had `timeout` seconds to end. Linux only (/proc); elsewhere always empty."""
        end = time.monotonic() + timeout
        while True:
            left = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with suppress(OSError, ValueError, IndexError):
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                    if int(fields[2]) == self.process.pid and fields[0] != "Z":
                        left.append(stat.parent.name)
            if not left or time.monotonic() > end:
                return left
            time.sleep(0.1)

    def clean_up(self) -> None:
        """Whatever is left of the server or of the sessions it started, ended for good."""
        self.terminate(timeout=5)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@contextmanager
def headless_chromium(browser: str, driver_path: str) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chat-tui-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser  # with the driver's path: Selenium looks nothing up and downloads nothing
        for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         f"--user-data-dir={profile}", "--window-size=1280,800",
                         # The page links a web font: no name resolves, so nothing waits on the internet.
                         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


def wait_for_screen(driver: Any, until: Callable[[str], bool], deadline: float, what: str) -> str:
    screen = ""
    while time.monotonic() < deadline:
        screen = driver.execute_script(READ_SCREEN) or ""
        if until(screen):
            return screen
        time.sleep(0.1)
    pytest.fail(f"the page never showed {what}; its terminal shows:\n{screen}")


@pytest.mark.slow
def test_a_prompt_typed_in_the_page_streams_an_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    browser, driver_path = chromium()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager, should anything call it: never download
    deadline = time.monotonic() + DEADLINE
    data_dir = tmp_path / "data"
    port = free_port()
    served = Served(data_dir, "--port", str(port))
    try:
        line = served.first_line(timeout=20)
        url = f"http://127.0.0.1:{port}/"
        assert line == f"chat-tui: serving the app on {url} (Ctrl+C to stop)\n"
        with headless_chromium(browser, driver_path) as driver:
            driver.set_page_load_timeout(20)
            driver.set_script_timeout(5)
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_TERMINAL})
            driver.get(url)
            ready = wait_for_screen(driver, lambda s: "Ask anything" in s, deadline, "the app's prompt")
            assert "import httpx" not in ready

            driver.execute_script("window.__chatTuiTerminal.focus()")
            ActionChains(driver).send_keys(PROMPT).send_keys(Keys.ENTER).perform()  # real key events

            screen = wait_for_screen(driver, lambda s: "scripted demo answer" in s, deadline, "the whole answer")
            assert "import httpx" in screen  # the answer's code block, rendered
            assert PROMPT in screen  # the conversation's title, from what was typed

            # Stopping the server with the page still open ends the session's app too.
            assert served.terminate() == 0, served.stderr
            assert served.others_left(timeout=max(1.0, deadline - time.monotonic())) == []
    finally:
        served.clean_up()
    assert not any("warning" in line for line in served.stderr), served.stderr
    assert "Traceback" not in "".join(served.stderr)

    # What the page showed was saved, like any answer of the app.
    store = Store.open(data_dir / "chat.sqlite3")
    try:
        (conversation,) = store.list_conversations()
        user, answer = store.messages(conversation.id)
        assert (user.role, user.text) == (Role.USER, PROMPT)
        assert (answer.role, answer.status, answer.text) == (Role.ASSISTANT, MessageStatus.COMPLETE, CODE)
    finally:
        store.close()
