"""`chat-tui ask`: one question, the answer streamed to stdout.

The prompt comes from the arguments, stdin, or both (`git diff | chat-tui ask
"review this"`: the arguments, a blank line, then what was piped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any, TextIO

from chat_tui.config import Settings
from chat_tui.errors import ConfigError
from chat_tui.sanitize import json_for_terminal, sanitize


def read_prompt(args: argparse.Namespace) -> str:
    prompt = " ".join(args.prompt).strip()
    if not sys.stdin.isatty():
        # Bytes, decoded leniently: a stray invalid byte in a piped file is not worth a failure.
        piped = sys.stdin.buffer.read().decode("utf-8", "replace") if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        if piped.strip():
            prompt = f"{prompt}\n\n{piped}" if prompt else piped
    if not prompt.strip():
        raise ConfigError('No prompt: give it as an argument (chat-tui ask "…") or on stdin.')
    return prompt


def run_ask(args: argparse.Namespace, settings: Settings, store: Any, prompt: str) -> int:
    from chat_tui.providers import make_provider

    provider = make_provider(settings)
    return asyncio.run(ask_with_tools(args, settings, store, provider, prompt))


async def ask_with_tools(args: argparse.Namespace, settings: Settings, store: Any, provider: Any, prompt: str) -> int:
    """`ask` with the tools to offer: the built-ins (unless turned off) and the MCP servers' tools
    (those of `--mcp-config FILE`, else those of the config file)."""
    from chat_tui.engine import ToolRegistry
    from chat_tui.engine.builtin_tools import builtin_registry

    options: dict[str, Any] = {"timeout": settings.tool_timeout, "enable_mutating": settings.allow_mutating_tools}
    tools = ToolRegistry(**options) if args.no_tools or not settings.tools_enabled else builtin_registry(**options)
    if args.mcp_config:
        from chat_tui.engine.mcp import load_server_configs

        servers = load_server_configs(args.mcp_config)
    else:
        servers = list(settings.mcp_servers)
    if not servers:
        return await ask(args, settings, store, provider, prompt, tools=tools)
    from chat_tui.engine.mcp import MCPTools

    async with MCPTools(servers, tools) as statuses:
        for status in statuses:
            if not status.ok:
                print(f"chat-tui: MCP server {sanitize(status.name)} did not start: {sanitize(str(status.error))}",
                      file=sys.stderr)
        return await ask(args, settings, store, provider, prompt, tools=tools)


async def ask(
    args: argparse.Namespace, settings: Settings, store: Any, provider: Any, prompt: str, *, tools: Any = None
) -> int:
    from chat_tui.domain import MessageStatus
    from chat_tui.engine import ChatEngine, Retrying, RetryPolicy, RoundStarted, ToolFinished, ToolRegistry, TurnEnded
    from chat_tui.providers.events import ReasoningDelta, RefusalDelta, TextDelta, ToolCallEnded

    conversation_id = store.last_conversation_id() if args.continue_last else None
    system_prompt = settings.system_prompt
    if conversation_id is not None and not hasattr(args, "system_prompt"):
        # Going on with a conversation: its own system prompt, unless --system gives another.
        conversation = store.get_conversation(conversation_id)
        system_prompt = conversation.system_prompt if conversation else system_prompt
    retry = RetryPolicy(attempts=settings.retries, base_delay=settings.retry_base_delay,
                        max_delay=settings.retry_max_delay)
    engine = ChatEngine(
        store, provider, system_prompt=system_prompt, retry=retry,
        tools=tools if tools is not None else ToolRegistry() if args.no_tools else None, approve=_approver(args.yes),
    )
    if conversation_id is None:
        conversation_id = engine.new_conversation()
    out = Output(sys.stdout, raw=args.raw or args.json)
    stream = not args.json and not getattr(args, "no_stream", False)
    text: list[str] = []
    reasoning: list[str] = []
    ended: TurnEnded | None = None

    def emit(piece: str) -> None:
        text.append(piece)
        if stream:
            out.write(piece)

    def flush() -> None:
        if not stream and not args.json and text:
            out.write("".join(text))
        out.finish()

    try:
        async with contextlib.aclosing(engine.run_turn(conversation_id, prompt)) as turn:
            async for batch in turn:
                for event in batch:
                    match event:
                        case TextDelta(text=t) | RefusalDelta(text=t):
                            emit(t)
                        case ReasoningDelta(text=t):
                            reasoning.append(t)
                        case ToolCallEnded(name=name, server=True):
                            print(f"chat-tui: tool {sanitize(name)} (run by the provider)", file=sys.stderr)
                        case ToolFinished(call=call):
                            print(f"chat-tui: {tool_line(call)}", file=sys.stderr)
                        case RoundStarted() if text and not text[-1].endswith("\n\n"):
                            emit("\n" if text[-1].endswith("\n") else "\n\n")  # the next message starts a paragraph
                        case Retrying(attempt=a, max_attempts=m, delay=d, error=e):
                            print(f"chat-tui: {sanitize(e.message)} — retry {a}/{m} in {d:.1f} s", file=sys.stderr)
                        case TurnEnded():
                            ended = event
    except (KeyboardInterrupt, asyncio.CancelledError):
        flush()
        print("chat-tui: cancelled; the partial answer is saved.", file=sys.stderr)
        return 130
    finally:
        await provider.aclose()
    flush()
    assert ended is not None
    if args.json:
        print_json({
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


def print_json(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    print(json_for_terminal(text) if sys.stdout.isatty() else text)


def _approver(allow: bool) -> Any:
    async def approve(call: Any) -> bool:
        if not allow:
            print(f"chat-tui: tool {sanitize(call.name)} needs approval: not run (use --yes to allow it)", file=sys.stderr)
        return allow

    return approve


def tool_line(call: Any) -> str:
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


class Output:
    """Writes the answer: rendered Markdown block by block on a terminal, text when piped."""

    def __init__(self, stream: TextIO, raw: bool) -> None:
        self.stream = stream
        self.tty = stream.isatty() and not raw
        self._text = ""
        self._printed = 0
        self._console: Any = None
        self._last_type: str | None = None
        """The kind of the last top-level block printed (a paragraph, a list, a rule ...)."""

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

        from chat_tui.ui.markdown_document import ChatMarkdown, gap_between, top_level_types

        if self._console is None:
            self._console = Console(file=self.stream, highlight=False)
        markdown = sanitize(markdown)
        types = top_level_types(markdown)
        if self._last_type is not None and types and gap_between(self._last_type, types[0]):
            self._console.print()  # the blank line a render of the whole answer puts between its blocks
        self._last_type = types[-1] if types else self._last_type
        # Rich's Markdown, drawn as the app draws it. No OSC 8 hyperlinks: a
        # link shows its target as text, as in the app.
        self._console.print(ChatMarkdown(markdown, hyperlinks=False))

    def finish(self) -> None:
        if self.tty:
            self._render(self._text[self._printed:])
            self._printed = len(self._text)
        elif self._printed:
            self.stream.write("\n")
            self.stream.flush()
