"""The saved conversations: `list`, `search`, `export` and `import`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from chat_tui.errors import ChatTuiError, ConfigError
from chat_tui.sanitize import json_for_terminal, sanitize

_BOLD, _PLAIN = "\x1b[1m", "\x1b[22m"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def run_list(args: argparse.Namespace, store: Any) -> int:
    conversations = store.list_conversations(args.limit)
    if not conversations:
        print("No conversations yet. Start one with `chat-tui` or `chat-tui ask \"…\"`.")
        return 0
    for c in conversations:
        mark = f" [{c.last_status.value}]" if c.last_status and c.last_status.is_partial else ""
        print(f"{c.id:>5}  {_when(c.updated_at)}  {sanitize(c.model or c.provider):<20.20}  "
              f"{sanitize(c.title) or 'Untitled'}{mark}")
    return 0


def run_search(args: argparse.Namespace, store: Any) -> int:
    query = " ".join(args.query)
    hits = store.search(query, args.limit)
    tty = sys.stdout.isatty()
    if args.json:
        text = json.dumps([
            {"conversation_id": h.conversation_id, "title": h.title, "message_id": h.message_id,
             "role": h.role.value, "snippet": h.snippet, "created_at": h.created_at, "replaced": h.replaced}
            for h in hits
        ], ensure_ascii=False)
        print(json_for_terminal(text) if tty else text)
        return 0
    if not hits:
        print(f"No messages match {sanitize(query) if tty else query!r}.")
        return 0
    for hit in hits:
        title = hit.title or "Untitled"
        print(f"{hit.conversation_id:>5}  {_when(hit.created_at)}  {sanitize(title) if tty else title}")
        who = ("you" if hit.role.value == "user" else "model") + (" (replaced)" if hit.replaced else "")
        print(f"       {who}: {_snippet(hit.snippet, hit.highlights, tty)}")
    return 0


def _snippet(snippet: str, highlights: tuple[tuple[int, int], ...], tty: bool) -> str:
    """The snippet; on a terminal sanitized piece by piece, with the matching words in bold."""
    if not tty:
        return snippet
    out: list[str] = []
    done = 0
    for start, end in highlights:
        out += [sanitize(snippet[done:start]), _BOLD, sanitize(snippet[start:end]), _PLAIN]
        done = end
    out.append(sanitize(snippet[done:]))
    return "".join(out)


def _conversation_id(store: Any, name: str) -> int:
    if name == "last":
        conversation_id = store.last_conversation_id()
        if conversation_id is None:
            raise ConfigError("There are no conversations to export.")
        return int(conversation_id)
    try:
        conversation_id = int(name)
    except ValueError:
        raise ConfigError(f"{name!r} is not a conversation ID: use a number or 'last'.") from None
    if store.get_conversation(conversation_id) is None:
        raise ConfigError(f"No conversation {conversation_id}: see `chat-tui list`.")
    return conversation_id


def run_export(args: argparse.Namespace, store: Any) -> int:
    from chat_tui.export import conversations_to_json, export_text

    if args.all:
        if args.conversation is not None:
            raise ConfigError("Give a conversation ID or --all, not both.")
        if args.format == "md":
            raise ConfigError("export --all writes JSON (one document with every conversation): drop --format md.")
        everything = [(c, store.messages(c.id)) for c in store.all_conversations()]
        output = json.dumps(conversations_to_json(everything), indent=2, ensure_ascii=False) + "\n"
        fmt = "json"
    else:
        if args.conversation is None:
            raise ConfigError("Which conversation? Give its ID, 'last', or --all for every one.")
        conversation_id = _conversation_id(store, args.conversation)
        conversation = store.get_conversation(conversation_id)
        messages = store.messages(conversation_id)
        fmt = args.format or "md"
        output = export_text(conversation, messages, fmt)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(output)
        except OSError as exc:
            raise ChatTuiError(f"Cannot write {args.output}: {exc.strerror or exc}.") from None
    else:
        if sys.stdout.isatty():
            output = json_for_terminal(output) if fmt == "json" else sanitize(output)
        sys.stdout.write(output)
    return 0


def run_import(args: argparse.Namespace, store: Any) -> int:
    from chat_tui.importing import read_export_file

    conversations = read_export_file(args.file)
    ids = store.import_conversations(conversations)
    if not ids:
        print(f"{sanitize(args.file)} holds no conversations: nothing was imported.")
        return 0
    listed = ", ".join(str(i) for i in ids)
    print(f"Imported {len(ids)} conversation{'s' if len(ids) != 1 else ''} from {sanitize(args.file)}: {listed}.")
    return 0
