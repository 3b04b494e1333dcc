"""The `chat-tui` command: the app, `ask`, `list` and `export`.

Every failure ends as one clear line on stderr and a non-zero exit code,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from chat_tui import __version__
from chat_tui.config import Settings, from_environment
from chat_tui.errors import ChatTuiError, ConfigError
from chat_tui.sanitize import json_for_terminal, sanitize


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("provider and storage")
    group.add_argument("--provider", choices=["openai", "anthropic", "demo"], default=argparse.SUPPRESS,
                       help="which API to talk to (default: from the environment, else the offline demo)")
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chat-tui", description="A terminal chat client for large language models."
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    _common(parser)
    parser.add_argument("--continue", dest="continue_last", action="store_true",
                        help="reopen the last conversation")
    parser.add_argument("--resume", type=int, metavar="ID", help="reopen conversation ID")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="ask one question and stream the answer to stdout")
    _common(ask)
    ask.add_argument("prompt", nargs="*", help="the prompt (also read from stdin when piped)")
    ask.add_argument("--json", action="store_true", help="print one JSON object when the turn ends")
    ask.add_argument("-c", "--continue", dest="continue_last", action="store_true",
                     help="add to the last conversation")
    ask.add_argument("--raw", action="store_true", help="print the text as it arrives, no Markdown rendering")
    ask.add_argument("-y", "--yes", action="store_true", help="allow tool calls that need approval")
    ask.add_argument("--no-tools", action="store_true", help="offer the model no built-in tools")
    ask.add_argument("--mcp-config", metavar="FILE",
                     help="JSON list of MCP servers {name, command, args, env, approval} whose tools to offer")

    lst = sub.add_parser("list", help="list saved conversations")
    _common(lst)
    lst.add_argument("--limit", type=int, default=50)

    export = sub.add_parser("export", help="export a conversation as Markdown or JSON")
    _common(export)
    export.add_argument("conversation", help="conversation ID, or 'last'")
    export.add_argument("--format", choices=["md", "json"], default="md")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    keys = ("provider", "model", "base_url", "api_key_env", "data_dir", "system_prompt", "stall_timeout")
    return from_environment(**{k: getattr(args, k) for k in keys if hasattr(args, k)})


def open_store(settings: Settings) -> Any:
    from chat_tui.paths import data_dir, db_path
    from chat_tui.store import Store

    store = Store.open(db_path(data_dir(override=settings.data_dir or None)))
    for warning in store.warnings:
        print(f"chat-tui: {warning}", file=sys.stderr)
    return store


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args)
        if args.command == "ask":
            return run_ask(args, settings)
        if args.command == "list":
            return run_list(args, settings)
        if args.command == "export":
            return run_export(args, settings)
        return run_app(args, settings)
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


def run_app(args: argparse.Namespace, settings: Settings) -> int:
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
        store.close()
    if app.return_code:
        return app.return_code
    return 0


def _read_prompt(args: argparse.Namespace) -> str:
    prompt = " ".join(args.prompt).strip()
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        if piped.strip():
            prompt = f"{prompt}\n\n{piped}" if prompt else piped
    if not prompt.strip():
        raise ConfigError('No prompt: give it as an argument (chat-tui ask "…") or on stdin.')
    return prompt


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    from chat_tui.providers import make_provider

    prompt = _read_prompt(args)
    store = open_store(settings)
    provider = make_provider(settings)
    try:
        return asyncio.run(_ask_with_tools(args, settings, store, provider, prompt))
    finally:
        store.close()


async def _ask_with_tools(args: argparse.Namespace, settings: Settings, store: Any, provider: Any, prompt: str) -> int:
    """`_ask` with the tools to offer: the built-ins (unless --no-tools) and any MCP servers' tools."""
    from chat_tui.engine import ToolRegistry
    from chat_tui.engine.builtin_tools import builtin_registry

    tools = ToolRegistry() if args.no_tools else builtin_registry()
    if not args.mcp_config:
        return await _ask(args, settings, store, provider, prompt, tools=tools)
    from chat_tui.engine.mcp import MCPTools, load_server_configs

    async with MCPTools(load_server_configs(args.mcp_config), tools) as statuses:
        for status in statuses:
            if not status.ok:
                print(f"chat-tui: MCP server {sanitize(status.name)} did not start: {sanitize(str(status.error))}",
                      file=sys.stderr)
        return await _ask(args, settings, store, provider, prompt, tools=tools)


async def _ask(
    args: argparse.Namespace, settings: Settings, store: Any, provider: Any, prompt: str, *, tools: Any = None
) -> int:
    from chat_tui.domain import MessageStatus
    from chat_tui.engine import ChatEngine, Retrying, RetryPolicy, RoundStarted, ToolFinished, ToolRegistry, TurnEnded
    from chat_tui.providers.events import ReasoningDelta, RefusalDelta, TextDelta, ToolCallEnded

    engine = ChatEngine(
        store, provider, system_prompt=settings.system_prompt, retry=RetryPolicy(attempts=settings.retries),
        tools=tools if tools is not None else ToolRegistry() if args.no_tools else None, approve=_approver(args.yes),
    )
    conversation_id = store.last_conversation_id() if args.continue_last else None
    if conversation_id is None:
        conversation_id = engine.new_conversation()
    out = _Output(sys.stdout, raw=args.raw or args.json)
    text: list[str] = []
    reasoning: list[str] = []
    ended: TurnEnded | None = None
    try:
        async with contextlib.aclosing(engine.run_turn(conversation_id, prompt)) as turn:
            async for batch in turn:
                for event in batch:
                    match event:
                        case TextDelta(text=t) | RefusalDelta(text=t):
                            text.append(t)
                            if not args.json:
                                out.write(t)
                        case ReasoningDelta(text=t):
                            reasoning.append(t)
                        case ToolCallEnded(name=name, server=True):
                            print(f"chat-tui: tool {sanitize(name)} (run by the provider)", file=sys.stderr)
                        case ToolFinished(call=call):
                            print(f"chat-tui: {_tool_line(call)}", file=sys.stderr)
                        case RoundStarted() if text and not text[-1].endswith("\n\n"):
                            gap = "\n" if text[-1].endswith("\n") else "\n\n"
                            text.append(gap)  # the next message of the tool loop starts a new paragraph
                            if not args.json:
                                out.write(gap)
                        case Retrying(attempt=a, max_attempts=m, delay=d, error=e):
                            print(f"chat-tui: {sanitize(e.message)} — retry {a}/{m} in {d:.1f} s", file=sys.stderr)
                        case TurnEnded():
                            ended = event
    except (KeyboardInterrupt, asyncio.CancelledError):
        out.finish()
        print("chat-tui: cancelled; the partial answer is saved.", file=sys.stderr)
        return 130
    finally:
        await provider.aclose()
    out.finish()
    assert ended is not None
    if args.json:
        _print_json({
            "conversation_id": conversation_id,
            "message_id": ended.message_id,
            "status": ended.status.value,
            "text": "".join(text),
            "reasoning": "".join(reasoning),
            "message_ids": ended.message_ids,
            "tool_calls": _calls_json(store, ended.message_ids),
            "finish_reason": ended.finish_reason,
            "usage": ended.usage,
            "error": {"kind": ended.error.kind.value, "message": ended.error.message} if ended.error else None,
        })
    if ended.error is not None:
        print(f"chat-tui: {sanitize(ended.error.message)}", file=sys.stderr)
    return 0 if ended.status == MessageStatus.COMPLETE else 1


def _print_json(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    print(json_for_terminal(text) if sys.stdout.isatty() else text)


def _approver(allow: bool) -> Any:
    async def approve(call: Any) -> bool:
        if not allow:
            print(f"chat-tui: tool {sanitize(call.name)} needs approval: not run (use --yes to allow it)", file=sys.stderr)
        return allow

    return approve


def _tool_line(call: Any) -> str:
    took = f" ({call.duration_ms} ms)" if call.duration_ms is not None else ""
    error = f": {sanitize(call.error)}" if call.status != "ok" and call.error else ""
    return f"tool {sanitize(call.name)} → {call.status}{took}{error}"


def _calls_json(store: Any, message_ids: list[int]) -> list[dict[str, Any]]:
    """Every tool call of the turn's assistant messages, with arguments and results."""
    calls = []
    for message_id in message_ids:
        message = store.get_message(message_id)
        calls += [c.to_dict() for c in (message.tool_calls if message else [])]
    return calls


class _Output:
    """Writes the answer: rendered Markdown block by block on a terminal, text when piped."""

    def __init__(self, stream: TextIO, raw: bool) -> None:
        self.stream = stream
        self.tty = stream.isatty() and not raw
        self._text = ""
        self._printed = 0
        self._console: Any = None

    def write(self, text: str) -> None:
        if not self.tty:
            self.stream.write(sanitize(text) if self.stream.isatty() else text)
            self.stream.flush()
            self._printed += len(text)
            return
        from chat_tui.markdown_blocks import split_blocks

        self._text += text
        end, _ = split_blocks(self._text)
        if end > self._printed:
            self._render(self._text[self._printed:end])
            self._printed = end

    def _render(self, markdown: str) -> None:
        if not markdown.strip():
            return
        from rich.console import Console
        from rich.markdown import Markdown

        if self._console is None:
            self._console = Console(file=self.stream, highlight=False)
        # No OSC 8 hyperlinks: a link shows its target as text, as in the app.
        self._console.print(Markdown(sanitize(markdown), hyperlinks=False))

    def finish(self) -> None:
        if self.tty:
            self._render(self._text[self._printed:])
            self._printed = len(self._text)
        elif self._printed:
            self.stream.write("\n")
            self.stream.flush()


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    import time

    store = open_store(settings)
    try:
        conversations = store.list_conversations(args.limit)
    finally:
        store.close()
    if not conversations:
        print("No conversations yet. Start one with `chat-tui` or `chat-tui ask \"…\"`.")
        return 0
    for c in conversations:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
        mark = f" [{c.last_status.value}]" if c.last_status and c.last_status.is_partial else ""
        print(f"{c.id:>5}  {when}  {sanitize(c.model or c.provider):<20.20}  {sanitize(c.title) or 'Untitled'}{mark}")
    return 0


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from chat_tui.export import conversation_to_json, conversation_to_markdown

    store = open_store(settings)
    try:
        if args.conversation == "last":
            conversation_id = store.last_conversation_id()
            if conversation_id is None:
                raise ConfigError("There are no conversations to export.")
        else:
            try:
                conversation_id = int(args.conversation)
            except ValueError:
                raise ConfigError(f"{args.conversation!r} is not a conversation ID: use a number or 'last'.") from None
        conversation = store.get_conversation(conversation_id)
        if conversation is None:
            raise ConfigError(f"No conversation {conversation_id}: see `chat-tui list`.")
        messages = store.messages(conversation_id)
    finally:
        store.close()
    if args.format == "json":
        output = json.dumps(conversation_to_json(conversation, messages), indent=2, ensure_ascii=False) + "\n"
    else:
        output = conversation_to_markdown(conversation, messages)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(output)
        except OSError as exc:
            raise ChatTuiError(f"Cannot write {args.output}: {exc.strerror or exc}.") from None
    else:
        if sys.stdout.isatty():
            output = json_for_terminal(output) if args.format == "json" else sanitize(output)
        sys.stdout.write(output)
    return 0
