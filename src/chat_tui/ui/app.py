"""ChatApp: holds the engine, store and settings; the screens do the rest."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from chat_tui.config import Settings
from chat_tui.domain import ToolCall
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.providers.base import Provider
from chat_tui.store import Store
from chat_tui.ui.screens.chat import ChatScreen


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
        self.settings = settings or Settings()
        self.store = store
        self.engine = ChatEngine(
            store,
            provider,
            system_prompt=self.settings.system_prompt,
            retry=RetryPolicy(attempts=self.settings.retries),
            approve=self.approve_tool_call,
        )
        self.initial_conversation_id = conversation_id

    async def approve_tool_call(self, call: ToolCall) -> bool:
        """Asked by the engine (inside the turn worker) before a call that needs approval."""
        from chat_tui.ui.screens.approval import ApprovalScreen

        return bool(await self.push_screen_wait(ApprovalScreen(call)))

    def on_mount(self) -> None:
        self.push_screen(ChatScreen(self.engine, self.initial_conversation_id))
        self.call_after_refresh(self._warm_up)

    def _warm_up(self) -> None:
        """After the first paint: load what the first answer's rendering needs."""
        from chat_tui.ui.markdown_document import warm_up

        warm_up(self.console)

    @property
    def chat_screen(self) -> ChatScreen:
        return next(s for s in self.screen_stack if isinstance(s, ChatScreen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chat = self.chat_screen
        yield SystemCommand("New conversation", "Start a new conversation (Ctrl+N)", chat.action_new_conversation)
        yield SystemCommand("Conversations", "Open, rename or delete saved conversations (Ctrl+O)", chat.action_open_conversations)
        yield SystemCommand("Stop answer", "Stop the streaming answer (Esc)", chat.action_cancel_turn)
        yield SystemCommand("Continue answer", "Continue the last partial answer (Ctrl+G)", chat.action_continue_answer)
        yield SystemCommand("Retry answer", "Ask the last question again (Ctrl+R)", chat.action_retry)
        yield SystemCommand("Copy last answer", "Copy its Markdown source to the clipboard (Ctrl+S)", chat.action_copy_answer)
        yield SystemCommand("Copy last code block", "Copy the last answer's last code block (Ctrl+T)", chat.action_copy_code)
        yield SystemCommand("Keys", "Every key binding (F1)", chat.action_help)

    async def on_unmount(self) -> None:
        await self.engine.provider.aclose()
