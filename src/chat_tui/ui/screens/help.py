"""F1: every key, in one place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

# The key shown for a binding id, unless the config file's [keys] table moves it.
BINDING_IDS = {
    "Esc": "cancel_turn", "Ctrl+R": "retry", "Ctrl+G": "continue_answer", "F5": "regenerate", "F2": "edit_last",
    "Ctrl+S": "copy_answer", "Ctrl+T": "copy_code", "F3": "copy_any", "Ctrl+N": "new_conversation", "Ctrl+O": "open_conversations",
    "Ctrl+L": "pick_model", "F1": "help", "Alt+Left / Alt+Right": "previous_answer / next_answer",
    "PageUp / PageDown": "scroll_up / scroll_down",
}


def key_label(keys: str) -> str:
    """ "ctrl+shift+x,f6" -> "Ctrl+Shift+X / F6" """
    return " / ".join("+".join(part.upper() if len(part) == 1 else part.capitalize() for part in key.split("+"))
                      for key in keys.split(",") if key)


KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Prompt", [
        ("Enter", "send"),
        ("Ctrl+J", "new line (also Shift+Enter or Alt+Enter where the terminal tells them apart)"),
        ("Up in an empty prompt", "recall the last message"),
    ]),
    ("Answer", [
        ("Esc", "stop the streaming answer (what arrived is kept)"),
        ("Ctrl+R", "retry the last interrupted answer from scratch"),
        ("Ctrl+G", "continue the last interrupted answer where it stopped"),
        ("F5", "regenerate the last answer (the old one is kept)"),
        ("Alt+Left / Alt+Right", "switch between the answers to the last message"),
        ("F2", "edit your last message and resend it (Esc stops editing)"),
        ("Ctrl+S", "copy the last answer (Markdown source) to the clipboard"),
        ("Ctrl+T", "copy the last code block of the last answer to the clipboard"),
        ("F3", "copy any message, or one of its code blocks"),
        ("Tab or click, Enter", "expand a tool call"),
    ]),
    ("Conversations", [
        ("Ctrl+N", "new conversation"),
        ("Ctrl+O", "conversation list: Enter open · Del delete · F2 rename · Esc close"),
        ("PageUp / PageDown", "scroll the conversation (also while typing)"),
    ]),
    ("App", [
        ("Ctrl+L", "switch model or profile"),
        ("Ctrl+P", "command palette (every command, themes, export as Markdown or JSON)"),
        ("F1", "this help"),
        ("Ctrl+Q", "quit"),
    ]),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 96; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 1 2;
    }
    HelpScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    HelpScreen Horizontal { height: auto; }
    HelpScreen .key { width: 24; color: $warning; }
    HelpScreen .what { width: 1fr; }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, remapped: dict[str, str] | None = None) -> None:
        super().__init__()
        self.remapped = remapped or {}
        """Binding id -> keys, from the config file."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content.assemble(("chat-tui keys", "bold"), ("   Esc closes", "$text-muted")))
            for section, keys in KEYS:
                yield Static(section, classes="section")
                for key, what in keys:
                    binding_ids = BINDING_IDS.get(key, "").split(" / ")
                    if any(binding_id in self.remapped for binding_id in binding_ids):
                        # Several bindings on one row ("Alt+Left / Alt+Right"): each keeps or moves its key.
                        key = " / ".join(key_label(self.remapped[binding_id]) if binding_id in self.remapped else default
                                         for binding_id, default in zip(binding_ids, key.split(" / "), strict=False))
                    with Horizontal():
                        yield Static(key, classes="key")
                        yield Static(what, classes="what")
