"""Building the real app for pilot and snapshot tests."""

from __future__ import annotations

from pathlib import Path

from chat_tui.config import Settings
from chat_tui.domain import MessageStatus, Role
from chat_tui.providers.base import Provider
from chat_tui.providers.demo import DemoProvider
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp


def open_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "data" / "chat.sqlite3")


def saved_conversation(store: Store, pairs: int, *, title: str = "chatty", usage: dict | None = None) -> int:
    """A saved conversation of `pairs` short questions and answers (each answer's `usage`, if given)."""
    cid = store.create_conversation(provider="demo", model="demo", title=title)
    for i in range(pairs):
        store.add_message(cid, Role.USER, f"question {i}")
        mid = store.start_assistant(cid)
        store.append(mid, f"answer {i}")
        store.finish(mid, MessageStatus.COMPLETE, usage=usage)
    return cid


def make_app(
    store: Store,
    *,
    provider: Provider | None = None,
    base_url: str | None = None,
    conversation_id: int | None = None,
    stall_timeout: float = 5.0,
    retries: int = 0,
) -> ChatApp:
    if provider is None:
        if base_url is not None:
            provider = OpenAICompatProvider(base_url=base_url, model="test-model", stall_timeout=stall_timeout)
        else:
            provider = DemoProvider(tokens_per_second=0, first_token_delay=0)
    settings = Settings(retries=retries, stall_timeout=stall_timeout)
    return ChatApp(store=store, provider=provider, settings=settings, conversation_id=conversation_id)
