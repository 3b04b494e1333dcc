"""`chat-tui serve`: the app in a web page, through `textual-serve`.

Every browser session runs its own `python -m chat_tui` with the options
`serve` was given; the API key reaches it through the environment, never the
command line. `textual-serve` (and aiohttp) load only here, never when the app
or the other commands start.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from chat_tui.config import Settings
from chat_tui.errors import ChatTuiError, ConfigError
from chat_tui.sanitize import sanitize

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SHUTDOWN_TIMEOUT = 5.0  # seconds open sessions get to end when the server stops

# The options of every command that the app started for a browser session gets too
# (argparse destination, flag).
PASSED_ON = (
    ("profile", "--profile"),
    ("provider", "--provider"),
    ("model", "--model"),
    ("base_url", "--base-url"),
    ("api_key_env", "--api-key-env"),
    ("data_dir", "--data-dir"),
    ("system_prompt", "--system"),
    ("stall_timeout", "--stall-timeout"),
)


def add_parser(sub: Any, common: Any) -> None:
    """The `serve` subcommand; `common` adds the options every command takes."""
    serve = sub.add_parser("serve", help="run the app in a web page (open the printed URL in a browser)")
    common(serve)
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    serve.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--continue", dest="continue_last", action="store_true",
                       help="each browser session opens the last conversation")
    serve.add_argument("--resume", type=int, metavar="ID", help="each browser session opens conversation ID")
    serve.add_argument("--public-url", metavar="URL",
                       help="the address browsers use to reach the server, when it is not http://HOST:PORT "
                            "(behind a proxy, or listening on 0.0.0.0)")


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def app_command(args: argparse.Namespace) -> str:
    """The shell command that starts the app for one browser session, every part quoted."""
    import shlex
    import subprocess

    argv = [sys.executable, "-m", "chat_tui"]
    for dest, flag in PASSED_ON:
        if not hasattr(args, dest):
            continue  # not given: the app finds the same default (environment, config file) by itself
        value = getattr(args, dest)
        if dest == "data_dir":
            value = os.path.abspath(value)
        argv.append(f"{flag}={value}")  # one word even when the value starts with "-"
    if getattr(args, "resume", None) is not None:
        argv.append(f"--resume={int(args.resume)}")
    elif getattr(args, "continue_last", False):
        argv.append("--continue")
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


def is_loopback(host: str) -> bool:
    """Whether `host` can only be reached from this machine."""
    import ipaddress
    import socket

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    if host.lower() == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def public_url(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise ConfigError("`chat-tui serve` needs the textual-serve package: pip install textual-serve") from None

    # A missing key, an unusable data folder or an unknown conversation: one line
    # now, not a broken page in every session.
    _check(settings, getattr(args, "resume", None))
    url = (args.public_url or public_url(args.host, args.port)).rstrip("/")
    if not is_loopback(args.host):
        print(f"chat-tui: warning: listening on {sanitize(args.host)}, not only on this machine: anyone who can "
              f"reach port {args.port} can use the app, your API key and your saved conversations.",
              file=sys.stderr, flush=True)
    server = _server_class(Server)(app_command(args), host=args.host, port=args.port, title="chat-tui",
                                   public_url=url)
    try:
        server.serve()
    except OSError as exc:
        raise ChatTuiError(f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}") from None
    return 0


def _check(settings: Settings, resume: int | None = None) -> None:
    import asyncio

    from chat_tui.cli import open_store
    from chat_tui.providers import make_provider

    provider = make_provider(settings)
    asyncio.run(provider.aclose())
    store = open_store(settings)
    try:
        if resume is not None and store.get_conversation(resume) is None:
            raise ConfigError(f"No conversation {resume}: see `chat-tui list`.")
    finally:
        store.close()


def _server_class(base: type) -> type:
    import asyncio
    import logging
    import signal

    from aiohttp import web

    class OneLine(logging.Formatter):
        """Log records as one sanitized line each, never a traceback."""

        def format(self, record: logging.LogRecord) -> str:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None and not message:
                message = str(record.exc_info[1])
            return "chat-tui: serve: " + " ".join(sanitize(message).split())

    class ChatServer(base):  # type: ignore[misc, valid-type]
        """textual-serve's server, quiet: one line with the URL once it listens, then only problems, on stderr."""

        def initialize_logging(self) -> None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(OneLine())
            for name in ("textual-serve", "aiohttp"):
                logger = logging.getLogger(name)
                logger.handlers[:] = [handler]
                logger.setLevel(logging.WARNING)
                logger.propagate = False

        sessions: set[asyncio.Task[Any]]  # one per open browser page

        async def on_startup(self, app: Any) -> None:
            pass  # no banner

        async def handle_websocket(self, request: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)

        async def on_shutdown(self, app: Any) -> None:
            # End every session now (its app is told to quit) rather than wait for the browsers to leave.
            for task in list(self.sessions):
                task.cancel()

        def serve(self, debug: bool = False) -> None:
            self.debug = debug
            self.sessions = set()
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(signum, self.request_exit)
                except (NotImplementedError, RuntimeError):
                    pass  # Windows: Ctrl+C raises KeyboardInterrupt instead
            line = f"chat-tui: serving the app on {sanitize(self.public_url)}/ (Ctrl+C to stop)"
            web.run_app(  # `print` is called once the server listens
                self._make_app(), host=self.host, port=self.port, loop=loop, handle_signals=False,
                shutdown_timeout=SHUTDOWN_TIMEOUT, print=lambda *_: print(line, flush=True),
            )

    return ChatServer
