"""F3 (and "Copy…" in the command palette): copy any message, or one of its
code blocks, as its Markdown source.

Message text is untrusted: it is shown only through `sanitize` and `Content`."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from chat_tui.domain import ChatMessage, Role
from chat_tui.markdown_blocks import code_blocks_with_language
from chat_tui.sanitize import sanitize

PREVIEW = 70
"""Characters of a message shown in its row."""


@dataclass(frozen=True, slots=True)
class CopyChoice:
    text: str
    what: str
    """How the notice names it: "your message", "an answer", "a python code block"."""


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = sanitize(line)
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"


def copy_choices(messages: list[ChatMessage]) -> list[tuple[Content, CopyChoice]]:
    """A row for each message with text, then one per code block of an answer."""
    rows: list[tuple[Content, CopyChoice]] = []
    for message in messages:
        if not message.text or message.role not in (Role.USER, Role.ASSISTANT):
            continue
        you = message.role == Role.USER
        who = ("You     ", "$secondary") if you else ("Answer  ", "$accent")
        rows.append((Content.assemble(who, _first_line(message.text)),
                     CopyChoice(message.text, "your message" if you else "the answer")))
        if you:
            continue
        for number, (language, code) in enumerate(code_blocks_with_language(message.text), 1):
            lines = code.count("\n") + (0 if code.endswith("\n") or not code else 1)
            label = f"{sanitize(language)} code" if language else "code"
            rows.append((
                Content.assemble(("   ⧉ ", "$text-muted"), (f"{label} block {number} · {lines} line{'s' * (lines != 1)}  ",
                                                             "$text-muted"), _first_line(code)),
                CopyChoice(code, f"the {label} block"),
            ))
    return rows


class CopyPickerScreen(ModalScreen[CopyChoice | None]):
    DEFAULT_CSS = """
    CopyPickerScreen { align: center middle; }
    CopyPickerScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    CopyPickerScreen #copy-title { color: $text-muted; padding: 0 1 1 1; }
    CopyPickerScreen OptionList { height: auto; max-height: 30; border: none; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, messages: list[ChatMessage]) -> None:
        super().__init__()
        self.rows = copy_choices(messages)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.assemble(("Copy", "bold"), "  Enter copies the Markdown source · Esc closes"),
                         id="copy-title")
            yield OptionList(*[Option(label, id=str(i)) for i, (label, _) in enumerate(self.rows)])

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.rows:
            # The most recent answer (not one of its code blocks) is where the eye is.
            last_message = max(i for i, (_, choice) in enumerate(self.rows) if not choice.what.endswith("block"))
            options.highlighted = last_message
        options.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[int(event.option.id or 0)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
