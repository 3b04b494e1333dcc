"""The list of saved conversations: open, delete, rename."""

from __future__ import annotations

import time

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from chat_tui.domain import Conversation, SearchHit
from chat_tui.errors import StoreError
from chat_tui.sanitize import sanitize
from chat_tui.store import Store


def conversation_label(c: Conversation) -> Content:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
    title = sanitize(c.title) or "Untitled"
    parts: list = [(f"{when}  ", "$text-muted"), title]
    if c.last_status is not None and c.last_status.is_partial:
        parts.append((f"  ⚠ {c.last_status.value}", "$warning"))
    parts.append((f"  {sanitize(c.model or c.provider)}", "$text-muted"))
    return Content.assemble(*parts)


def hit_label(hit: SearchHit) -> Content:
    """A search result: date and title, then the snippet with the matching words bold."""
    when = time.strftime("%Y-%m-%d", time.localtime(hit.created_at))
    clean = sanitize(hit.snippet)
    snippet = Content(clean)
    if len(clean) == len(hit.snippet):  # offsets still line up
        for start, end in hit.highlights:
            snippet = snippet.stylize("bold $accent", start, end)
    head = Content.assemble((f"{when}  ", "$text-muted"), (sanitize(hit.title) or "Untitled", "bold"))
    if hit.replaced:
        head = Content.assemble(head, ("  (a replaced answer: Alt+← brings it back)", "$text-muted"))
    return Content.assemble(head, "\n   ", snippet)


class ConversationsScreen(ModalScreen[int | None]):
    DEFAULT_CSS = """
    ConversationsScreen { align: center middle; }
    ConversationsScreen > Vertical {
        width: 90%; max-width: 110; height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ConversationsScreen #heading { text-style: bold; height: 1; margin-bottom: 1; }
    ConversationsScreen OptionList, ConversationsScreen OptionList:focus { height: 1fr; border: none; }
    ConversationsScreen #search { margin-bottom: 1; }
    ConversationsScreen #rename { display: none; }
    ConversationsScreen #rename.-visible { display: block; }
    ConversationsScreen #keys { color: $text-muted; height: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("delete,ctrl+d", "delete", "Delete"),
        Binding("f2,ctrl+e", "rename", "Rename"),
    ]

    def __init__(self, store: Store, current: int | None = None) -> None:
        super().__init__()
        self.store = store
        self.current = current
        self.conversations: list[Conversation] = []
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Conversations", id="heading")
            yield Input(placeholder="Search all conversations…", id="search", select_on_focus=False)
            yield OptionList(id="list")
            yield Input(placeholder="New title, Enter to save", id="rename")
            yield Static("Type to search · ↓ to the list · Enter open · Del delete · F2 rename · Esc close", id="keys")

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    @on(Input.Changed, "#search")
    def search(self, event: Input.Changed) -> None:
        query = event.value.strip()
        if not query:
            self.hits = []
            self.reload()
            return
        try:
            self.hits = self.store.search(query, limit=100)
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        if not self.hits:
            option_list.add_option(Option(Content(f"Nothing matches “{sanitize(query)}”."), disabled=True))
            return
        option_list.add_options(Option(hit_label(hit), id=f"hit-{i}") for i, hit in enumerate(self.hits))
        option_list.highlighted = 0

    @on(Input.Submitted, "#search")
    def open_first_hit(self) -> None:
        option_list = self.query_one(OptionList)
        if option_list.option_count and option_list.highlighted is not None:
            option_list.focus()
            option_list.action_select()

    def on_key(self, event: events.Key) -> None:
        search = self.query_one("#search", Input)
        option_list = self.query_one(OptionList)
        if event.key == "down" and search.has_focus:
            option_list.focus()
            event.stop()
        elif option_list.has_focus and event.is_printable and event.character:
            # Typing in the list starts a search.
            search.focus()
            search.insert_text_at_cursor(event.character)
            event.stop()

    def reload(self) -> None:
        option_list = self.query_one(OptionList)
        highlighted = option_list.highlighted
        try:
            self.conversations = self.store.list_conversations(500)
        except StoreError as exc:
            self.notify(sanitize(str(exc)), severity="error", markup=False)
            self.conversations = []
        option_list.clear_options()
        if not self.conversations:
            option_list.add_option(Option("No conversations yet.", disabled=True))
            return
        option_list.add_options(Option(conversation_label(c), id=str(c.id)) for c in self.conversations)
        if highlighted is not None:
            option_list.highlighted = min(highlighted, len(self.conversations) - 1)
        else:
            ids = [c.id for c in self.conversations]
            option_list.highlighted = ids.index(self.current) if self.current in ids else 0

    def _selected(self) -> Conversation | None:
        if self.hits:
            return None  # search results: open only
        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.conversations):
            return None
        return self.conversations[index]

    @on(OptionList.OptionSelected)
    def open_conversation(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id
        if option_id is None:
            return
        if option_id.startswith("hit-"):
            self.dismiss(self.hits[int(option_id[4:])].conversation_id)
        else:
            self.dismiss(int(option_id))

    def action_close(self) -> None:
        rename = self.query_one("#rename", Input)
        if rename.has_class("-visible"):
            rename.remove_class("-visible")
            self.query_one(OptionList).focus()
            return
        self.dismiss(None)

    def action_delete(self) -> None:
        conversation = self._selected()
        if conversation is None:
            return
        self.store.delete_conversation(conversation.id)
        self.notify(f"Deleted “{sanitize(conversation.title) or 'Untitled'}”.", markup=False)
        self.reload()

    def action_rename(self) -> None:
        conversation = self._selected()
        if conversation is None:
            return
        rename = self.query_one("#rename", Input)
        rename.value = conversation.title
        rename.add_class("-visible")
        rename.focus()

    @on(Input.Submitted, "#rename")
    def save_title(self, event: Input.Submitted) -> None:
        conversation = self._selected()
        if conversation is not None and event.value.strip():
            self.store.rename_conversation(conversation.id, event.value.strip())
        event.input.remove_class("-visible")
        self.reload()
        self.query_one(OptionList).focus()
