"""The subcommands of `chat-tui` (the parser and the dispatch are in `chat_tui.cli`)."""
