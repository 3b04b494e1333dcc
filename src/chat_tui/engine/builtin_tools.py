"""The built-in tools: small, read-only and on by default.

* `current_datetime`: the date and time, locally or in a given time zone;
* `calculator`: arithmetic over Python's `ast` (never `eval`);
* `read_file` and `list_directory`: inside the working directory only.
"""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import math
import operator
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chat_tui.engine.tools import Tool, ToolError, ToolRegistry

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096
"""Integers larger than this (about 1233 digits) are refused."""
MAX_FACTORIAL = 500
READ_CHUNK_BYTES = 12_000
"""How much of a file one `read_file` call returns."""
MAX_LIST_ENTRIES = 300

# -- calculator -------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: Any) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise ToolError("factorial() needs a non-negative whole number.")
    if n > MAX_FACTORIAL:
        raise ToolError(f"factorial() is limited to n <= {MAX_FACTORIAL}.")
    return math.factorial(n)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "atan2": math.atan2, "hypot": math.hypot, "degrees": math.degrees,
    "radians": math.radians, "floor": math.floor, "ceil": math.ceil, "abs": abs, "round": round,
    "min": min, "max": max, "factorial": _factorial,
}


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolError("The result is too large.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("The result is too large." if math.isinf(value) else "The result is not a number.")
    return value


def _power(base: Any, exponent: Any) -> Any:
    if (isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
            and exponent * math.log2(abs(base)) > MAX_INT_BITS):
        raise ToolError("The result is too large.")
    if isinstance(exponent, float) and isinstance(base, float | int) and abs(exponent) > 1e6 and abs(base) > 1:
        raise ToolError("The result is too large.")
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("The result is not a real number.")
    return result


def _evaluate(node: ast.AST) -> Any:
    match node:
        case ast.Expression(body=body):
            return _evaluate(body)
        case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(value, bool):
            return _check_size(value)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            a, b = _evaluate(left), _evaluate(right)
            if isinstance(op, ast.Pow):
                return _check_size(_power(a, b))
            return _check_size(_BINARY[type(op)](a, b))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_evaluate(operand))
        case ast.Constant(value=value):
            raise ToolError(f"Only numbers are allowed, not {value!r}.")
        case ast.Name(id=name) if name in _CONSTANTS:
            return _CONSTANTS[name]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            return _check_size(_FUNCTIONS[name](*(_evaluate(a) for a in args)))
        case ast.Name(id=name):
            raise ToolError(f"Unknown name {name!r}; known: {', '.join([*_CONSTANTS, *_FUNCTIONS])}.")
    raise ToolError(f"Not allowed in an expression: {type(node).__name__}.")


def calculate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely (no names, attributes or calls except math functions)."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise ToolError("The expression is empty.")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"The expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    try:
        tree = ast.parse(text, mode="eval")
        return _evaluate(tree)
    except SyntaxError as exc:
        raise ToolError(f"Not a valid expression: {exc.msg}.") from None
    except ZeroDivisionError:
        raise ToolError("Division by zero.") from None
    except OverflowError:
        raise ToolError("The result is too large.") from None
    except (ValueError, TypeError) as exc:
        raise ToolError(f"Math error: {exc}.") from None
    except RecursionError:
        raise ToolError("The expression is nested too deeply.") from None


def format_number(value: int | float) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


async def _calculator(expression: str) -> str:
    return format_number(calculate(expression))


# -- date and time ----------------------------------------------------------------

def now_text(timezone: str = "", *, now: dt.datetime | None = None) -> str:
    if timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone: dt.tzinfo | None = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(f"Unknown time zone {timezone!r}: use an IANA name such as Europe/Paris.") from None
    else:
        zone = None
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    return f"{moment.strftime('%A')} {moment.isoformat(timespec='seconds')} ({moment.tzname() or 'local time'})"


async def _current_datetime(timezone: str = "") -> str:
    return now_text(timezone)


# -- files ------------------------------------------------------------------------

def resolve_inside(root: Path, path: str) -> Path:
    """`path` (relative to `root`, or absolute) with symlinks resolved; refused if it leaves `root`."""
    if "\x00" in path:
        raise ToolError("The path contains a NUL character.")
    candidate = Path(os.path.expanduser(path)) if path.startswith("~") else Path(path)
    target = (root / candidate).resolve()
    if target != root and not target.is_relative_to(root):
        raise ToolError(f"Access denied: {path!r} is outside the working directory; only files under it can be read.")
    return target


def read_text(root: Path, path: str, offset: int = 0) -> str:
    target = resolve_inside(root, path)
    if not target.exists():
        raise ToolError(f"No such file: {path!r}.")
    if target.is_dir():
        raise ToolError(f"{path!r} is a directory: use list_directory.")
    if not target.is_file():
        raise ToolError(f"{path!r} is not a regular file.")
    size = target.stat().st_size
    offset = max(0, offset)
    try:
        with target.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(READ_CHUNK_BYTES)
    except OSError as exc:
        raise ToolError(f"Cannot read {path!r}: {exc.strerror or exc}.") from None
    if b"\x00" in data:
        raise ToolError(f"{path!r} looks like a binary file; only text files can be read.")
    text = data.decode("utf-8", errors="replace")
    end = offset + len(data)
    if end < size:
        text += f"\n[… file continues: {size - end} more bytes; call read_file again with offset={end}]"
    return text


def list_entries(root: Path, path: str = ".") -> str:
    target = resolve_inside(root, path or ".")
    if not target.is_dir():
        raise ToolError(f"No such directory: {path!r}.")
    try:
        entries = sorted(target.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise ToolError(f"Cannot list {path!r}: {exc.strerror or exc}.") from None
    lines = [p.name + ("/" if p.is_dir() else "") for p in entries[:MAX_LIST_ENTRIES]]
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[… {len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
    return "\n".join(lines) if lines else "(empty directory)"


# -- the tools --------------------------------------------------------------------

def builtin_tools(root: Path | str | None = None) -> list[Tool]:
    """The built-in tools; file access is limited to `root` (default: the working
    directory; none when the working directory no longer exists)."""
    try:
        base = Path(root if root is not None else Path.cwd()).resolve()
    except OSError:
        base = None

    async def read_file(path: str, offset: int = 0) -> str:
        return await asyncio.to_thread(read_text, base, path, offset)

    async def list_directory(path: str = ".") -> str:
        return await asyncio.to_thread(list_entries, base, path)

    tools = [
        Tool("current_datetime", "The current date, time and weekday, locally or in a given IANA time zone.",
             {"type": "object", "properties": {"timezone": {
                 "type": "string", "description": "IANA time zone such as Europe/Paris; empty for local time"}}},
             _current_datetime),
        Tool("calculator",
             "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** and parentheses, "
             f"constants {', '.join(_CONSTANTS)} and functions {', '.join(_FUNCTIONS)}.",
             {"type": "object", "properties": {"expression": {"type": "string", "description": "e.g. (2 + 3) * 4"}},
              "required": ["expression"]},
             _calculator),
    ]
    if base is None:
        return tools
    return [
        *tools,
        Tool("read_file",
             f"Read a text file under the working directory ({READ_CHUNK_BYTES} bytes at a time).",
             {"type": "object", "properties": {
                 "path": {"type": "string", "description": "path relative to the working directory"},
                 "offset": {"type": "integer", "description": "byte offset to start at (default 0)"}},
              "required": ["path"]},
             read_file),
        Tool("list_directory", "List the entries of a directory under the working directory (folders end in /).",
             {"type": "object", "properties": {
                 "path": {"type": "string", "description": "path relative to the working directory (default .)"}}},
             list_directory),
    ]


def builtin_registry(root: Path | str | None = None, **options: Any) -> ToolRegistry:
    return ToolRegistry(builtin_tools(root), **options)
