"""The SQLite store. Knows nothing of providers, the engine or the UI."""

from chat_tui.store.store import Store

__all__ = ["Store"]
