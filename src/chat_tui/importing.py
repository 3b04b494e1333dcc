"""Reading chat-tui's own JSON exports back: one conversation (`export ID
--format json`) or many (`export --all`).

Everything is checked before anything is stored: a malformed document is one
`ChatTuiError` saying where (`conversation 2, message 5: …`) and nothing is
imported.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from chat_tui.domain import ChatMessage, Conversation, MessageStatus, Role, ToolCall
from chat_tui.errors import ChatTuiError
from chat_tui.export import FORMAT

TOOL_STATUSES = ("pending", "running", "ok", "error", "cancelled")


class _Bad(Exception):
    pass


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _wanted(kind: type | tuple[type, ...]) -> str:
    if kind == (int, float):
        return "a number"
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}[kind]  # type: ignore[index]


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ..., *, nullable: bool = False) -> Any:
    """`data[key]`, checked to be of `kind` (or null when `nullable`); `default` when missing (required without one)."""
    if key not in data or (data[key] is None and nullable):
        if default is ... and not nullable:
            raise _Bad(f"'{key}' is missing")
        return None if default is ... else default
    value = data[key]
    wrong_bool = isinstance(value, bool) and kind is not bool
    if wrong_bool or not isinstance(value, kind):
        null = " or null" if nullable else ""
        raise _Bad(f"'{key}' must be {_wanted(kind)}{null}, not {_type_name(value)}")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = _get(data, key, str, ... if default is None else default)
    if value not in choices:
        raise _Bad(f"'{key}' must be one of {', '.join(choices)}, not {value!r}")
    return value


def _tool_call(data: Any) -> ToolCall:
    if not isinstance(data, dict):
        raise _Bad(f"a tool call must be an object, not {_type_name(data)}")
    duration = _get(data, "duration_ms", int, nullable=True)
    return ToolCall(
        id=_get(data, "id", str),
        name=_get(data, "name", str),
        arguments=_get(data, "arguments", str, ""),
        result=_get(data, "result", str, nullable=True),
        error=_get(data, "error", str, nullable=True),
        status=_choice(data, "status", TOOL_STATUSES, "pending"),
        duration_ms=duration,
        server=_get(data, "server", bool, False),
    )


def _message(data: Any, now: float) -> ChatMessage:
    if not isinstance(data, dict):
        raise _Bad(f"must be an object, not {_type_name(data)}")
    error = _get(data, "error", dict, nullable=True)
    if error is not None:
        error_kind = _get(error, "kind", str)
        error_message = _get(error, "message", str, nullable=True)
    else:
        error_kind = error_message = None
    calls = _get(data, "tool_calls", list, [])
    created = float(_get(data, "created_at", (int, float), now))
    prior = _get(data, "prior_status", str, nullable=True)
    return ChatMessage(
        id=_get(data, "id", int, 0, nullable=True) or 0,
        conversation_id=0,
        role=Role(_choice(data, "role", tuple(Role))),
        text=_get(data, "text", str),
        reasoning=_get(data, "reasoning", str, ""),
        tool_calls=[_tool_call(c) for c in calls],
        tool_call_id=_get(data, "tool_call_id", str, nullable=True),
        status=MessageStatus(_choice(data, "status", tuple(MessageStatus), MessageStatus.COMPLETE.value)),
        model=_get(data, "model", str, ""),
        provider=_get(data, "provider", str, ""),
        error_kind=error_kind,
        error_message=error_message,
        finish_reason=_get(data, "finish_reason", str, nullable=True),
        usage=_get(data, "usage", dict, nullable=True),
        ttft_ms=_get(data, "ttft_ms", int, nullable=True),
        duration_ms=_get(data, "duration_ms", int, nullable=True),
        created_at=created,
        updated_at=float(_get(data, "updated_at", (int, float), created)),
        attempt=_get(data, "attempt", int, nullable=True),
        prior_status=MessageStatus(prior) if prior in tuple(MessageStatus) else None,
    )


def _conversation(data: Any, where: str, now: float) -> tuple[Conversation, list[ChatMessage]]:
    try:
        if not isinstance(data, dict):
            raise _Bad(f"must be an object, not {_type_name(data)}")
        created = float(_get(data, "created_at", (int, float), now))
        conversation = Conversation(
            id=0,
            title=_get(data, "title", str, ""),
            created_at=created,
            updated_at=float(_get(data, "updated_at", (int, float), created)),
            provider=_get(data, "provider", str, ""),
            model=_get(data, "model", str, ""),
            system_prompt=_get(data, "system_prompt", str, ""),
        )
        items = _get(data, "messages", list)
    except _Bad as exc:
        raise _Bad(f"{where}: {exc}") from None
    messages = []
    for number, item in enumerate(items, 1):
        try:
            messages.append(_message(item, now))
        except _Bad as exc:
            raise _Bad(f"{where}, message {number}: {exc}") from None
    return conversation, messages


def conversations_from_json(data: Any) -> list[tuple[Conversation, list[ChatMessage]]]:
    """The conversations of an export document; raises ValueError saying what is wrong and where."""
    now = time.time()
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _Bad(f"not a chat-tui export (no \"format\": \"{FORMAT}\")")
        if "conversations" in data:
            items = _get(data, "conversations", list)
            return [_conversation(item, f"conversation {n}", now) for n, item in enumerate(items, 1)]
        return [_conversation(data, "the conversation", now)]
    except _Bad as exc:
        raise ValueError(str(exc)) from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_export_file(path: str | Path) -> list[tuple[Conversation, list[ChatMessage]]]:
    """The conversations in an export file, all checked; one clear ChatTuiError if anything is wrong."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ChatTuiError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ChatTuiError(f"Cannot import {path}: it is not UTF-8 text; nothing was imported.") from None
    except (ValueError, RecursionError) as exc:
        raise ChatTuiError(f"Cannot import {path}: not valid JSON ({exc}); nothing was imported.") from None
    try:
        return conversations_from_json(data)
    except ValueError as exc:
        raise ChatTuiError(f"Cannot import {path}: {exc}; nothing was imported.") from None
