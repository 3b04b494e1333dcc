"""ChatApp: holds the engine, store and settings; the screens do the rest."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from chat_tui.config import Settings
from chat_tui.domain import ToolCall
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.engine.builtin_tools import builtin_registry
from chat_tui.engine.tools import ToolRegistry
from chat_tui.errors import ChatTuiError
from chat_tui.providers.base import Provider
from chat_tui.store import Store
from chat_tui.ui.screens.chat import ChatScreen
from chat_tui.ui.widgets.stream_view import MarkdownStreamView

if TYPE_CHECKING:
    from chat_tui.engine.mcp import MCPTools

GC_THRESHOLDS = (5000, 10, 100)
"""The cyclic garbage collector's thresholds once the app runs. A full collection waits for
100 younger ones (not Python's 10), so it does not stall a streaming answer; and a young
collection comes after 5,000 new objects (not 700): a streaming answer makes many that
live a moment (the pieces of each frame's lines), and it went through the survivors some
twenty times per 2,000 tokens (~4 ms) where it now does twice (~2 ms), ~1 ms each."""


class ChatApp(App[None]):
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    TITLE = "chat-tui"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        *,
        store: Store,
        provider: Provider,
        settings: Settings | None = None,
        conversation_id: int | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings = settings or Settings()
        self.store = store
        self.engine = ChatEngine(
            store,
            provider,
            system_prompt=settings.system_prompt,
            retry=RetryPolicy(
                attempts=settings.retries, base_delay=settings.retry_base_delay, max_delay=settings.retry_max_delay
            ),
            tools=self._tool_registry(settings),
            approve=self.approve_tool_call,
        )
        self.initial_conversation_id = conversation_id
        self._mcp: MCPTools | None = None
        self._gc_thresholds: tuple[int, int, int] | None = None
        """Python's garbage collector settings before the app changed them (see `_warm_up`)."""
        MarkdownStreamView.FRAME_INTERVAL = 1 / max(1.0, settings.frame_rate)

    @staticmethod
    def _tool_registry(settings: Settings) -> ToolRegistry:
        if not settings.tools_enabled:
            return ToolRegistry()
        return builtin_registry(timeout=settings.tool_timeout, enable_mutating=settings.allow_mutating_tools)

    @property
    def state_path(self) -> Path:
        """Small UI state (the theme chosen in the app), beside the database."""
        return self.store.path.with_name("ui-state.json")

    async def approve_tool_call(self, call: ToolCall) -> bool:
        """Asked by the engine (inside the turn worker) before a call that needs approval."""
        from chat_tui.ui.screens.approval import ApprovalScreen

        return bool(await self.push_screen_wait(ApprovalScreen(call)))

    def get_default_screen(self) -> Screen:
        # The chat screen is the app's first screen: pushed over Textual's blank
        # default one, it cost a second screen's mounting, styling and layout
        # before the first frame (~70 ms of a ~550 ms start here).
        self._apply_theme()
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        return ChatScreen(self.engine, self.initial_conversation_id)

    def on_mount(self) -> None:
        for warning in self.settings.warnings:
            self.notify(warning, severity="warning", markup=False, timeout=8)
        self.call_after_refresh(self._warm_up)
        if self.settings.mcp_servers:
            self.run_worker(self._start_mcp(), group="mcp")

    def _apply_theme(self) -> None:
        """The configured theme, else the one last chosen in the app (remembered)."""
        theme = self.settings.theme
        if not theme:
            try:
                theme = json.loads(self.state_path.read_text()).get("theme", "")
            except (OSError, ValueError, AttributeError):
                theme = ""
        if theme in self.available_themes:
            self.theme = theme
        elif self.settings.theme:
            self.notify(f"Unknown theme {theme!r}; see the command palette's theme list.", severity="warning",
                        markup=False)
        self.watch(self, "theme", self._remember_theme, init=False)

    def _remember_theme(self, theme: str) -> None:
        try:
            fd = os.open(self.state_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"theme": theme}, handle)
        except OSError:
            pass  # not worth an error: the theme is simply not remembered

    async def _start_mcp(self) -> None:
        from chat_tui.engine.mcp import MCPTools  # only with MCP servers configured

        self._mcp = MCPTools(self.settings.mcp_servers, self.engine.tools)
        for status in await self._mcp.start():
            if status.ok:
                self.notify(f"MCP server {status.name}: {len(status.tools)} tools.", markup=False)
            else:
                self.notify(f"MCP server {status.name} did not start: {status.error}", severity="error",
                            markup=False, timeout=10)

    def _warm_up(self) -> None:
        """After the first paint: load what the first answer's rendering needs."""
        from chat_tui.ui.markdown_document import warm_up

        warm_up(self.console)
        prepare = getattr(self.engine.provider, "prepare", None)
        if prepare is not None:
            # The HTTP client, ready before the first question (~0.1 s, after the
            # first frame). On this thread: made in a worker thread, it made a test
            # of the app in a terminal fail after the tool-loop tests (not understood yet).
            with contextlib.suppress(ChatTuiError):  # the first request says what is wrong
                prepare()
        # What is loaded by now (modules, classes, styles, the app and its
        # screen) lives as long as the app: the cyclic garbage collector need
        # not go through it again. And a streaming answer allocates many small
        # objects that live long (its rendered lines): at Python's default
        # pace, full collections came every few seconds of a fast answer and
        # stalled the app for 20-45 ms each (they went through everything).
        gc.collect()
        gc.freeze()
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        gc.enable()  # (the command turns it off while the app starts)

    @property
    def chat_screen(self) -> ChatScreen:
        return next(s for s in self.screen_stack if isinstance(s, ChatScreen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chat = self.chat_screen
        commands: list[tuple[str, str, Callable[[], Any], str | None]] = [
            ("New conversation", "Start a new conversation (Ctrl+N)", chat.action_new_conversation, None),
            ("Conversations", "Open, rename or delete saved conversations (Ctrl+O)", chat.action_open_conversations,
             None),
            ("Switch model", "Another model or profile for the next answers (Ctrl+L)", chat.action_pick_model,
             "pick_model"),
            ("Stop answer", "Stop the streaming answer (Esc)", chat.action_cancel_turn, "stop_answer"),
            ("Cancel edit", "Leave the message as it was (Esc)", chat.action_cancel_turn, "cancel_edit"),
            ("Continue answer", "Continue the last partial answer (Ctrl+G)", chat.action_continue_answer,
             "continue_answer"),
            ("Retry answer", "Ask the last question again (Ctrl+R)", chat.action_retry, "retry"),
            ("Copy last answer", "Copy its Markdown source to the clipboard (Ctrl+S)", chat.action_copy_answer,
             "copy_answer"),
            ("Copy last code block", "Copy the last answer's last code block (Ctrl+T)", chat.action_copy_code,
             "copy_code"),
            ("Copy…", "Copy any message or one of its code blocks (F3)", chat.action_copy_any, "copy_any"),
            ("Keys", "Every key binding (F1)", chat.action_help, None),
            ("Edit last message", "Change your last message and resend it (F2)", chat.action_edit_last, "edit_last"),
            ("Regenerate answer", "Ask the last question again; the old answer is kept (F5)", chat.action_regenerate,
             "regenerate"),
            ("Export as Markdown", "Write this conversation to a .md file in the current directory",
             lambda: chat.export_conversation("md"), "export"),
            ("Export as JSON", "Write this conversation (every answer, as stored) to a .json file",
             lambda: chat.export_conversation("json"), "export"),
            ("Previous answer", "Switch back to an earlier answer to the last message (Alt+Left)",
             chat.action_previous_answer, "previous_answer"),
            ("Next answer", "Switch to a later answer to the last message (Alt+Right)", chat.action_next_answer,
             "next_answer"),
        ]
        # Only what would do something now: the palette is where a person looks
        # for what they can do (the keys stay bound; most say why they do nothing).
        for title, help_text, callback, needs in commands:
            if needs is None or chat.can(needs):
                yield SystemCommand(title, help_text, callback)

    def _fatal_error(self) -> None:
        """A bug crashed the app: one line on the terminal, the traceback in a file.

        Textual's own crash report (a private method, overridden here because
        there is no public hook) prints every local variable of every frame,
        request headers and message text among them, to the terminal. Ours has
        no locals and goes to a 0600 file beside the database.
        """
        from io import StringIO

        from rich.console import Console
        from rich.text import Text
        from rich.traceback import Traceback

        from chat_tui.sanitize import sanitize

        error = sys.exc_info()[1]
        report = StringIO()
        Console(file=report, width=120, color_system=None).print(Traceback(show_locals=False, width=120))
        path = self.store.path.with_name(f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(report.getvalue())
            where = f" Details: {path}"
        except OSError:
            where = ""
        detail = sanitize(" ".join(str(error).split()))[:200]
        line = f"chat-tui stopped on an unexpected error ({type(error).__name__}: {detail}); nothing was lost.{where}"
        self.bell()
        self._exit_renderables.append(Text(line))
        self._close_messages_no_wait()

    async def on_unmount(self) -> None:
        if self._gc_thresholds is not None:
            # As it was: what the app held can be collected once it is gone (an
            # app run in a process that goes on, as in tests, leaves nothing behind).
            gc.unfreeze()
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
        if self._mcp is not None:
            await self._mcp.aclose()
        await self.engine.provider.aclose()
