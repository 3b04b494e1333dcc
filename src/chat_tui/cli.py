"""The `chat-tui` command: the app, `ask`, `list`, `search`, `export`, `import`,
`config` and `serve` (the subcommands live in `chat_tui.commands`).

Every failure ends as one clear line on stderr and a non-zero exit code,
never a traceback. The config file is read (and a bad one refused, exit 2)
before anything else starts.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from chat_tui import __version__
from chat_tui.commands.serve import add_parser as _add_serve_parser
from chat_tui.config import Settings, load_settings
from chat_tui.errors import ChatTuiError, ConfigError
from chat_tui.sanitize import sanitize

__all__ = ["_Output", "_ask", "_tool_line", "build_parser", "main", "open_store", "settings_from"]


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("provider and storage")
    group.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS,
                       help="the config file's [profiles.NAME] to use (or CHAT_TUI_PROFILE)")
    group.add_argument("--provider", choices=["openai", "anthropic", "demo"], default=argparse.SUPPRESS,
                       help="which API to talk to (default: from the profile or the environment, else the offline demo)")
    group.add_argument("--model", default=argparse.SUPPRESS, help="model name")
    group.add_argument("--base-url", default=argparse.SUPPRESS,
                       help="base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1")
    group.add_argument("--api-key-env", metavar="VAR", default=argparse.SUPPRESS,
                       help="environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    group.add_argument("--data-dir", default=argparse.SUPPRESS, help="folder of the database (or CHAT_TUI_DATA_DIR)")
    group.add_argument("--system", dest="system_prompt", default=argparse.SUPPRESS, help="system prompt")
    group.add_argument("--stall-timeout", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                       help="seconds without data before a stream counts as stalled (default 30)")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, like every other failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The command line's parser; without `commands`, only the app's options
    (what starting the app needs: the commands' parsers take ~7 ms to build)."""
    parser = _Parser(
        prog="chat-tui", description="A terminal chat client for large language models."
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    _common(parser)
    parser.add_argument("--continue", dest="continue_last", action="store_true",
                        help="reopen the last conversation")
    parser.add_argument("--resume", type=int, metavar="ID", help="reopen conversation ID")
    if not commands:
        parser.set_defaults(command=None)
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ask = sub.add_parser("ask", help="ask one question and stream the answer to stdout")
    _common(ask)
    ask.add_argument("prompt", nargs="*", help="the prompt (also read from stdin when piped, after the arguments)")
    ask.add_argument("--json", action="store_true", help="print one JSON object when the turn ends")
    ask.add_argument("-c", "--continue", dest="continue_last", action="store_true",
                     help="add to the last conversation")
    ask.add_argument("--raw", action="store_true", help="print the text as it arrives, no Markdown rendering")
    ask.add_argument("--no-stream", action="store_true", help="print the answer only once it is complete")
    ask.add_argument("-y", "--yes", action="store_true", help="allow tool calls that need approval")
    ask.add_argument("--no-tools", action="store_true", help="offer the model no built-in tools")
    ask.add_argument("--mcp-config", metavar="FILE",
                     help="JSON list of MCP servers {name, command, args, env, approval} whose tools to offer "
                          "(instead of the config file's)")

    lst = sub.add_parser("list", help="list saved conversations")
    _common(lst)
    lst.add_argument("--limit", type=int, default=50)

    search = sub.add_parser("search", help="search the text of every conversation")
    _common(search)
    search.add_argument("query", nargs="+", help="words to find (all of them; a word also matches longer words)")
    search.add_argument("--limit", type=int, default=20, help="most results to show (default 20)")
    search.add_argument("--json", action="store_true", help="print the results as a JSON list")

    export = sub.add_parser("export", help="export a conversation (Markdown or JSON), or all of them (JSON)")
    _common(export)
    export.add_argument("conversation", nargs="?", help="conversation ID, or 'last'")
    export.add_argument("--all", action="store_true", help="every conversation, as one JSON document")
    export.add_argument("--format", choices=["md", "json"], default=None, help="md (the default) or json")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")

    imp = sub.add_parser("import", help="import conversations from a JSON export (as new conversations)")
    _common(imp)
    imp.add_argument("file", help="a file written by `chat-tui export … --format json` or `export --all`")

    _add_serve_parser(sub, _common)

    config = sub.add_parser("config", help="the config file: path, check, init")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True, parser_class=_Parser)
    for name, text in (("path", "print where the config file is"),
                       ("check", "check the config file and summarise it"),
                       ("init", "write a commented example config file (never overwrites)")):
        _common(config_sub.add_parser(name, help=text))
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    keys = ("profile", "provider", "model", "base_url", "api_key_env", "data_dir", "system_prompt", "stall_timeout")
    return load_settings(**{k: getattr(args, k) for k in keys if hasattr(args, k)})


def open_store(settings: Settings) -> Any:
    from chat_tui.paths import data_dir, db_path
    from chat_tui.store import Store

    store = Store.open(db_path(data_dir(override=settings.data_dir or None)))
    for warning in store.warnings:
        print(f"chat-tui: {warning}", file=sys.stderr)
    return store


def _names_a_command(argv: Sequence[str]) -> bool:
    """Whether `argv` may name a command or ask for help (which lists them): any
    word that is not an option (an option's value may be one), or -h."""
    return any(not arg.startswith("-") or arg in ("-h", "--help") for arg in argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(commands=_names_a_command(argv))
    args = parser.parse_args(argv)
    try:
        if args.command == "config":
            from chat_tui.commands.config import run_config

            return run_config(args)
        settings = settings_from(args)
        for warning in settings.warnings:
            print(f"chat-tui: warning: {sanitize(warning)}", file=sys.stderr)
        if args.command is None:
            return run_app(args, settings)
        if args.command == "serve":
            from chat_tui.commands.serve import run_serve

            return run_serve(args, settings)
        return _run_command(args, settings)
    except ChatTuiError as exc:
        print(f"chat-tui: {sanitize(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read stdout went away (`chat-tui ask … | head`): stop quietly,
        # and keep the interpreter's final flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
        if os.environ.get("CHAT_TUI_DEBUG"):
            raise
        detail = sanitize(" ".join(str(exc).split()))[:200]
        print(f"chat-tui: unexpected error ({type(exc).__name__}: {detail}); nothing was lost. "
              "Set CHAT_TUI_DEBUG=1 to see the details, and please report it.", file=sys.stderr)
        return 1


def __getattr__(name: str) -> object:
    """`ask`'s internals, for tests, without loading them at every start."""
    if name in ("_ask", "_tool_line", "_Output"):
        from chat_tui.commands import ask

        return {"_ask": ask.ask, "_tool_line": ask.tool_line, "_Output": ask.Output}[name]
    raise AttributeError(name)


def _run_command(args: argparse.Namespace, settings: Settings) -> int:
    from chat_tui.commands import library
    from chat_tui.commands.ask import read_prompt, run_ask

    prompt = read_prompt(args) if args.command == "ask" else ""  # no prompt: say so before opening anything
    store = open_store(settings)
    try:
        if args.command == "ask":
            return run_ask(args, settings, store, prompt)
        run = {"list": library.run_list, "search": library.run_search, "export": library.run_export,
               "import": library.run_import}[args.command]
        return run(args, store)
    finally:
        store.close()


def run_app(args: argparse.Namespace, settings: Settings) -> int:
    # Starting the app creates some 70,000 objects the cyclic collector tracks,
    # nearly all of them living as long as the app: it ran ~90 times while they
    # were made (~20 ms here). The app turns it back on once it has started
    # (`_warm_up`).
    gc.disable()
    from chat_tui.providers import make_provider

    store = open_store(settings)
    provider = make_provider(settings)
    conversation_id = None
    if args.resume is not None:
        if store.get_conversation(args.resume) is None:
            raise ConfigError(f"No conversation {args.resume}: see `chat-tui list`.")
        conversation_id = args.resume
    elif args.continue_last:
        conversation_id = store.last_conversation_id()
    from chat_tui.ui.app import ChatApp

    app = ChatApp(store=store, provider=provider, settings=settings, conversation_id=conversation_id)
    try:
        app.run()
    finally:
        gc.enable()  # (if the app stopped before it had started)
        store.close()
    if app.return_code:
        return app.return_code
    return 0
