"""Tools the model may call, and the registry that offers and runs them.

A `Tool` is a name, a description, a JSON-schema for its arguments and an
async callable that receives the arguments as keyword arguments. The
`ToolRegistry` lists the tools for a request (`specs`) and runs one call
(`run`). Running never raises for the tool's own trouble: an unknown tool,
arguments that are not a JSON object or do not match the schema, a timeout or
an exception inside the tool all end as an *error result* (one line of text)
that is sent back to the model, so it can correct itself. Only cancellation
propagates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chat_tui.domain import ToolCall
from chat_tui.providers.base import ToolSpec

DEFAULT_TIMEOUT = 30.0
"""Seconds one call may run before it is stopped."""
MAX_RESULT_CHARS = 16_000
"""Longer results are cut here, with a note saying so."""
MAX_ERROR_CHARS = 500

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class ToolError(Exception):
    """Raised by a tool (or the registry) for a failure the model should read."""


@dataclass(slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    """A JSON schema of type object."""
    run: Callable[..., Awaitable[Any]]
    """Called with the arguments as keyword arguments; returns text (or anything JSON-able)."""
    needs_approval: bool = False
    """The user must approve each call before it runs."""
    mutating: bool = False
    """It can change something (files, remote state); off unless enabled."""
    timeout: float | None = None
    """Overrides the registry's timeout for this tool."""

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}\n[… truncated: {cut} more characters not shown]"


def result_text(call: ToolCall) -> str:
    """What the model reads for a finished call."""
    if call.status == "ok":
        return call.result or ""
    return f"Error: {call.error or 'the call failed.'}"


def parse_arguments(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ToolError(f"The arguments are not valid JSON ({exc.msg} at character {exc.pos}).") from None
    except (ValueError, RecursionError):
        raise ToolError("The arguments are not valid JSON.") from None
    if not isinstance(value, dict):
        raise ToolError("The arguments must be a JSON object.")
    return value


def check_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """A small subset of JSON schema: required keys, known keys, simple types."""
    properties = schema.get("properties") or {}
    missing = [k for k in schema.get("required", []) if k not in arguments]
    if missing:
        raise ToolError(f"Missing required argument(s): {', '.join(missing)}.")
    if properties and schema.get("additionalProperties") is not True:
        unknown = [k for k in arguments if k not in properties]
        if unknown:
            raise ToolError(f"Unknown argument(s): {', '.join(unknown)}; expected: {', '.join(properties)}.")
    for key, value in arguments.items():
        kind = (properties.get(key) or {}).get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        allowed = tuple(t for k in kinds if isinstance(k, str) for t in _JSON_TYPES.get(k, (object,)))
        if not allowed or kind is None:
            continue
        if isinstance(value, bool) and bool not in allowed:
            raise ToolError(f"Argument {key!r} must be of type {kind}, not boolean.")
        if not isinstance(value, allowed):
            raise ToolError(f"Argument {key!r} must be of type {kind}.")


def _format_result(value: Any) -> str:
    if value is None:
        return "(no output)"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class ToolRegistry:
    """The tools offered to the model, and how calls to them are run."""

    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_result_chars: int = MAX_RESULT_CHARS,
        enable_mutating: bool = False,
    ) -> None:
        self.timeout = timeout
        self.max_result_chars = max_result_chars
        self.enable_mutating = enable_mutating
        self._tools: dict[str, Tool] = {}
        self._enabled: set[str] = set()
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)

    def enable(self, name: str) -> None:
        """Turn on one mutating tool."""
        self._enabled.add(name)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def is_enabled(self, tool: Tool) -> bool:
        return not tool.mutating or self.enable_mutating or tool.name in self._enabled

    @property
    def tools(self) -> list[Tool]:
        return [t for t in self._tools.values() if self.is_enabled(t)]

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self.tools]

    def needs_approval(self, name: str) -> bool:
        tool = self._tools.get(name)
        return tool is not None and tool.needs_approval

    def __len__(self) -> int:
        return len(self.tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    async def run(self, call: ToolCall) -> ToolCall:
        """Run `call`, filling its status (ok | error | cancelled), result or error and duration."""
        started = time.monotonic()
        call.status, call.result, call.error = "running", None, None
        try:
            call.result = await self._invoke(call)
            call.status = "ok"
        except ToolError as exc:
            call.status, call.error = "error", one_line(str(exc)) or "The tool failed."
        except asyncio.CancelledError:
            call.status, call.error = "cancelled", "Cancelled."
            raise
        finally:
            call.duration_ms = int((time.monotonic() - started) * 1000)
        return call

    async def _invoke(self, call: ToolCall) -> str:
        tool = self._tools.get(call.name)
        if tool is None or not self.is_enabled(tool):
            names = ", ".join(t.name for t in self.tools) or "none"
            state = "is disabled" if tool is not None else "does not exist"
            raise ToolError(f"The tool {call.name!r} {state}. Available tools: {names}.")
        arguments = parse_arguments(call.arguments)
        check_arguments(tool.parameters, arguments)
        limit = tool.timeout if tool.timeout is not None else self.timeout
        try:
            async with asyncio.timeout(limit) as deadline:
                value = await tool.run(**arguments)
        except ToolError:
            raise
        except TimeoutError as exc:
            if deadline.expired():
                raise ToolError(f"The tool {call.name!r} timed out after {limit:g} s.") from None
            raise ToolError(f"TimeoutError: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a tool's failure becomes a result for the model
            detail = str(exc) or "no details"
            raise ToolError(f"{type(exc).__name__}: {detail}") from None
        return truncate(_format_result(value), self.max_result_chars)
