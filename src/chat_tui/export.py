"""Conversations as Markdown or JSON (exact text, as stored)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from chat_tui.domain import ChatMessage, Conversation, MessageStatus, Role

FORMAT = "chat-tui/1"
"""The `format` of the JSON documents chat-tui writes and imports."""


def conversation_to_json(conversation: Conversation, messages: list[ChatMessage]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "id": conversation.id,
        "title": conversation.title,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "provider": conversation.provider,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "messages": [
            {
                "id": m.id,
                "role": m.role.value,
                "text": m.text,
                "reasoning": m.reasoning,
                "status": m.status.value,
                "model": m.model,
                "provider": m.provider,
                "tool_calls": [c.to_dict() for c in m.tool_calls],
                "tool_call_id": m.tool_call_id,
                "error": {"kind": m.error_kind, "message": m.error_message} if m.error_kind else None,
                "finish_reason": m.finish_reason,
                "usage": m.usage,
                "ttft_ms": m.ttft_ms,
                "duration_ms": m.duration_ms,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
                "attempt": m.attempt,
                "prior_status": m.prior_status.value if m.prior_status else None,
            }
            for m in messages
        ],
    }


def conversations_to_json(conversations: list[tuple[Conversation, list[ChatMessage]]]) -> dict[str, Any]:
    """Several conversations as one document (what `chat-tui export --all` writes).

    Each is as `conversation_to_json` writes it; a partial answer keeps its
    status (`cancelled`, `interrupted`, `error`) and its error."""
    return {
        "format": FORMAT,
        "exported_at": time.time(),
        "conversations": [conversation_to_json(c, m) for c, m in conversations],
    }


def conversation_to_markdown(conversation: Conversation, messages: list[ChatMessage]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created_at))
    lines = [f"# {conversation.title or 'Untitled'}", "", f"*{when} · {conversation.model or conversation.provider}*", ""]
    for m in messages:
        if m.status == MessageStatus.SUPERSEDED:
            continue  # an earlier answer (or message) replaced by a retry or an edit: in the JSON export only
        if m.role == Role.USER:
            lines += ["## You", "", m.text, ""]
        elif m.role == Role.ASSISTANT:
            lines += [f"## Assistant ({m.model})" if m.model else "## Assistant", "", m.text, ""]
            for call in m.tool_calls:
                lines += [f"> tool `{call.name}` {call.arguments} → {call.status}", ""]
            if m.status != MessageStatus.COMPLETE:
                reason = f": {m.error_message}" if m.error_message else ""
                lines += [f"> *[{m.status.value}{reason}]*", ""]
        elif m.role == Role.TOOL:
            lines += ["### Tool result", "", "```", m.text, "```", ""]
    return "\n".join(lines)


def export_text(conversation: Conversation, messages: list[ChatMessage], fmt: str) -> str:
    """The document for one conversation: `fmt` is "md" or "json"."""
    if fmt == "json":
        return json.dumps(conversation_to_json(conversation, messages), indent=2, ensure_ascii=False) + "\n"
    return conversation_to_markdown(conversation, messages)


def export_to_directory(conversation: Conversation, messages: list[ChatMessage], fmt: str, directory: Path) -> Path:
    """Write the conversation into `directory` under a name made from its title
    (never over an existing file); the path written. Raises OSError."""
    slug = re.sub(r"[^a-z0-9]+", "-", (conversation.title or "").lower()).strip("-")[:48].strip("-") or "conversation"
    text = export_text(conversation, messages, fmt)
    for n in range(1, 1000):
        path = directory / f"chat-{slug}{'' if n == 1 else f'-{n}'}.{fmt}"
        try:
            # "x": created here or not at all; a file of that name is never replaced.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path
    raise FileExistsError(f"too many exports of this conversation in {directory}")
