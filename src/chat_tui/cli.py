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
from typing import Any, TextIO

from chat_tui import __version__
from chat_tui.config import Settings, from_environment
from chat_tui.errors import ChatTuiError, ConfigError


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        print(f"chat-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


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
        return asyncio.run(_ask(args, settings, store, provider, prompt))
    finally:
        store.close()


async def _ask(args: argparse.Namespace, settings: Settings, store: Any, provider: Any, prompt: str) -> int:
    from chat_tui.engine import ChatEngine, RetryPolicy, Retrying, TurnEnded, TurnStarted
    from chat_tui.domain import MessageStatus
    from chat_tui.providers.events import ReasoningDelta, RefusalDelta, TextDelta, ToolCallEnded

    engine = ChatEngine(store, provider, system_prompt=settings.system_prompt, retry=RetryPolicy(attempts=settings.retries))
    conversation_id = store.last_conversation_id() if args.continue_last else None
    if conversation_id is None:
        conversation_id = engine.new_conversation()
    out = _Output(sys.stdout, raw=args.raw or args.json)
    text: list[str] = []
    reasoning: list[str] = []
    message_id = None
    ended: TurnEnded | None = None
    try:
        async with contextlib.aclosing(engine.run_turn(conversation_id, prompt)) as turn:
            async for batch in turn:
                for event in batch:
                    match event:
                        case TurnStarted(message_id=mid):
                            message_id = mid
                        case TextDelta(text=t) | RefusalDelta(text=t):
                            text.append(t)
                            if not args.json:
                                out.write(t)
                        case ReasoningDelta(text=t):
                            reasoning.append(t)
                        case ToolCallEnded(name=name):
                            print(f"chat-tui: tool call {name}", file=sys.stderr)
                        case Retrying(attempt=a, max_attempts=m, delay=d, error=e):
                            print(f"chat-tui: {e.message} — retry {a}/{m} in {d:.1f} s", file=sys.stderr)
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
        print(json.dumps({
            "conversation_id": conversation_id,
            "message_id": message_id,
            "status": ended.status.value,
            "text": "".join(text),
            "reasoning": "".join(reasoning),
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in ended.tool_calls],
            "finish_reason": ended.finish_reason,
            "usage": ended.usage,
            "error": {"kind": ended.error.kind.value, "message": ended.error.message} if ended.error else None,
        }, ensure_ascii=False))
    if ended.error is not None:
        from chat_tui.sanitize import sanitize

        print(f"chat-tui: {sanitize(ended.error.message)}", file=sys.stderr)
    return 0 if ended.status == MessageStatus.COMPLETE else 1


class _Output:
    """Writes the answer: rendered Markdown block by block on a terminal, text when piped."""

    def __init__(self, stream: TextIO, raw: bool) -> None:
        self.stream = stream
        self.tty = stream.isatty() and not raw
        self._text = ""
        self._printed = 0
        self._console: Any = None

    def write(self, text: str) -> None:
        from chat_tui.sanitize import sanitize

        if not self.tty:
            self.stream.write(sanitize(text) if self.stream.isatty() else text)
            self.stream.flush()
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

        from chat_tui.sanitize import sanitize

        if self._console is None:
            self._console = Console(file=self.stream, highlight=False)
        self._console.print(Markdown(sanitize(markdown)))

    def finish(self) -> None:
        if self.tty:
            self._render(self._text[self._printed:])
            self._printed = len(self._text)
        elif self._text or True:
            self.stream.write("\n")
            self.stream.flush()


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from chat_tui.sanitize import sanitize

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
        print(f"{c.id:>5}  {when}  {c.model or c.provider:<20.20}  {sanitize(c.title) or 'Untitled'}{mark}")
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
            from chat_tui.sanitize import sanitize

            output = sanitize(output)
        sys.stdout.write(output)
    return 0
