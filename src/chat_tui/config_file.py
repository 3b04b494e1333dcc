"""The TOML config file: read it, check it against its schema, say where a problem is.

`read_config_file(path)` returns a `FileConfig` (None when there is no file)
whose values are already named like the `Settings` fields. Every problem (not
TOML, an unknown key, a wrong type or value, an unknown profile kind, an API
key in a file others can read) is one `ConfigError` naming the file and the
line of the offending key.

Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_tui.errors import ConfigError

PROVIDER_KINDS = ("openai", "anthropic", "demo")

KeyPath = tuple[str | int, ...]


class _Invalid(Exception):
    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class FileConfig:
    """A checked config file, its values named like the `Settings` fields."""

    path: Path
    values: dict[str, Any]
    """Settings from the top level of the file."""
    profiles: dict[str, dict[str, Any]]
    """Settings of each `[profiles.NAME]` (`kind` becomes `provider`, `headers` `extra_headers`)."""
    default_profile: str = ""
    warnings: tuple[str, ...] = ()


# -- where a key is -------------------------------------------------------------------
_KEY_PART = re.compile(r'\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|\'([^\']*)\')\s*')


def _split_key(text: str) -> tuple[list[str], str] | None:
    """The dotted key at the start of `text` and what follows it, or None."""
    parts: list[str] = []
    rest = text
    while True:
        match = _KEY_PART.match(rest)
        if not match or not match.group(0).strip():
            return None
        bare, basic, literal = match.groups()
        if basic is not None:
            try:
                basic = json.loads(f'"{basic}"')
            except ValueError:
                pass
        parts.append(bare if bare is not None else basic if basic is not None else literal)
        rest = rest[match.end():]
        if not rest.startswith("."):
            return parts, rest
        rest = rest[1:]


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line (from 1) of every table header and key in a TOML document.

    Arrays of tables get their index as a path element (`("mcp_servers", 1, "name")`).
    Keys inside inline tables and multi-line values are not listed: `line_of`
    falls back to their parent's line."""
    lines: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_string = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_string:
            if line.count(in_string) % 2:
                in_string = ""
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            array = line.startswith("[[")
            parsed = _split_key(line[2 if array else 1:])
            if parsed is None:
                continue
            path = _with_indexes(tuple(parsed[0]), counts)
            if array:
                counts[path] = counts.get(path, -1) + 1
                path = (*path, counts[path])
            table = path
            lines.setdefault(table, number)
            continue
        parsed = _split_key(line)
        if parsed is None or not parsed[1].startswith("="):
            continue
        lines.setdefault((*table, *parsed[0]), number)
        value = parsed[1][1:]
        for quote in ('"""', "'''"):
            if value.count(quote) % 2:
                in_string = quote
    return lines


def _with_indexes(path: KeyPath, counts: dict[KeyPath, int]) -> KeyPath:
    """`[a.b]` after `[[a]]` is a table of a's last element: put that index in."""
    out: list[str | int] = []
    for part in path:
        out.append(part)
        if tuple(out) in counts and len(out) < len(path):
            out.append(counts[tuple(out)])
    return tuple(out)


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int:
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


# -- checks -----------------------------------------------------------------------------
def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date or time"


def _name(path: KeyPath) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p + 1}]" for p in path).replace(".[", "[")


def _want(path: KeyPath, value: Any, what: str) -> _Invalid:
    return _Invalid(path, f"'{_name(path)}' must be {what}, not {_kind_of(value)}.")


def _string(path: KeyPath, value: Any, pattern: str | None = None, what: str = "") -> str:
    if not isinstance(value, str):
        raise _want(path, value, "a string")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise _Invalid(path, f"'{_name(path)}' must be {what}, not {value!r}.")
    return value


def _boolean(path: KeyPath, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _want(path, value, "true or false")
    return value


def _number(path: KeyPath, value: Any, low: float, high: float, *, integer: bool = False, above: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _want(path, value, "an integer" if integer else "a number")
    if not (low < value if above else low <= value) or not value <= high:  # also rejects nan and inf
        bound = f"above {low:g}" if above else f"at least {low:g}"
        raise _Invalid(path, f"'{_name(path)}' must be {bound} and at most {high:g}, not {value!r}.")
    return value


def _table(path: KeyPath, value: Any, known: tuple[str, ...] | None = None, where: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _want(path, value, "a table")
    for key in value:
        if known is not None and key not in known:
            place = f" in {where or f'[{_name(path)}]'}" if path else " at the top level"
            raise _Invalid((*path, key), f"unknown key '{key}'{place} (known keys: {', '.join(known)}).")
    return value


def _string_table(path: KeyPath, value: Any, key_pattern: str = ".+", value_pattern: str = r"(?s).*",
                  what: str = "a table of strings") -> dict[str, str]:
    table = _table(path, value)
    for key, item in table.items():
        if not isinstance(item, str) or not re.fullmatch(key_pattern, key) or not re.fullmatch(value_pattern, item):
            raise _Invalid((*path, key), f"'{_name(path)}' must be {what} (the entry '{key}' is not).")
    return dict(table)


_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TOP = ("default_profile", "system_prompt", "frame_rate", "stall_timeout", "theme", "profiles", "retry", "tools",
        "mcp_servers", "keys")
_PROFILE = ("kind", "base_url", "api_key_env", "api_key", "model", "headers", "prices")
_RETRY = ("attempts", "base_delay", "max_delay")
_TOOLS = ("enabled", "timeout", "allow_mutating")
_MCP = ("name", "command", "args", "env", "approval")


def _profile(name: str, data: Any) -> dict[str, Any]:
    path: KeyPath = ("profiles", name)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise _Invalid(path, f"the profile name {name!r} must be letters, digits, '_', '-' or '.'.")
    data = _table(path, data, _PROFILE)
    if "kind" not in data:
        raise _Invalid(path, f"[profiles.{name}] needs a kind: {', '.join(PROVIDER_KINDS)}.")
    kind = _string((*path, "kind"), data["kind"])
    if kind not in PROVIDER_KINDS:
        raise _Invalid((*path, "kind"), f"unknown profile kind {kind!r}: use one of {', '.join(PROVIDER_KINDS)}.")
    out: dict[str, Any] = {"provider": kind}
    if "base_url" in data:
        out["base_url"] = _string((*path, "base_url"), data["base_url"], r"https?://\S+", "an http:// or https:// URL")
    if "api_key_env" in data:
        out["api_key_env"] = _string((*path, "api_key_env"), data["api_key_env"], _ENV_NAME,
                                     "the name of an environment variable")
    if "api_key" in data:
        out["api_key"] = _string((*path, "api_key"), data["api_key"])
    if "model" in data:
        out["model"] = _string((*path, "model"), data["model"])
    if "headers" in data:
        out["extra_headers"] = _string_table((*path, "headers"), data["headers"], _HEADER_NAME, r"[^\r\n\x00]*",
                                             "a table of header names to one-line strings")
    if "prices" in data:
        prices = _table((*path, "prices"), data["prices"], ("input", "output"))
        for side in ("input", "output"):
            if side not in prices:
                raise _Invalid((*path, "prices"), f"'{_name((*path, 'prices'))}' needs input and output "
                                                  "(dollars per million tokens).")
        out["prices"] = {side: float(_number((*path, "prices", side), prices[side], 0, 1e6)) for side in prices}
    return out


def _mcp_servers(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _want(("mcp_servers",), value, "an array of tables ([[mcp_servers]])")
    from chat_tui.engine.mcp import parse_server_configs

    servers: list[Any] = []
    for index, item in enumerate(value):
        path: KeyPath = ("mcp_servers", index)
        item = _table(path, item, _MCP, "[[mcp_servers]]")
        for key in ("name", "command"):
            if key not in item:
                raise _Invalid(path, f"MCP server {index + 1} needs a {key}.")
            _string((*path, key), item[key])
        if "args" in item and (not isinstance(item["args"], list) or not all(isinstance(a, str) for a in item["args"])):
            raise _want((*path, "args"), item["args"], "an array of strings")
        if "env" in item:
            _string_table((*path, "env"), item["env"])
        if "approval" in item and item["approval"] not in (True, False, "always", "never"):
            raise _Invalid((*path, "approval"), "'approval' must be true, false, \"always\" or \"never\".")
        try:
            (server,) = parse_server_configs([item])
        except ConfigError as exc:
            raise _Invalid((*path, "name"), str(exc).replace("MCP server 1", f"MCP server {index + 1}", 1)) from None
        if any(s.name == server.name for s in servers):
            raise _Invalid((*path, "name"), f"there are two MCP servers named {server.name!r}.")
        servers.append(server)
    return tuple(servers)


def _check(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    _table((), data, _TOP)
    values: dict[str, Any] = {}
    for key in ("system_prompt", "theme"):
        if key in data:
            values[key] = _string((key,), data[key])
    if "frame_rate" in data:
        values["frame_rate"] = float(_number(("frame_rate",), data["frame_rate"], 1, 240))
    if "stall_timeout" in data:
        values["stall_timeout"] = float(_number(("stall_timeout",), data["stall_timeout"], 0, 1e6, above=True))
    if "retry" in data:
        retry = _table(("retry",), data["retry"], _RETRY)
        if "attempts" in retry:
            values["retries"] = _number(("retry", "attempts"), retry["attempts"], 0, 100, integer=True)
        for key, field_name in (("base_delay", "retry_base_delay"), ("max_delay", "retry_max_delay")):
            if key in retry:
                values[field_name] = float(_number(("retry", key), retry[key], 0, 3600))
    if "tools" in data:
        tools = _table(("tools",), data["tools"], _TOOLS)
        if "enabled" in tools:
            values["tools_enabled"] = _boolean(("tools", "enabled"), tools["enabled"])
        if "timeout" in tools:
            values["tool_timeout"] = float(_number(("tools", "timeout"), tools["timeout"], 0, 1e6, above=True))
        if "allow_mutating" in tools:
            values["allow_mutating_tools"] = _boolean(("tools", "allow_mutating"), tools["allow_mutating"])
    if "keys" in data:
        values["keys"] = _string_table(("keys",), data["keys"], r"[A-Za-z_][A-Za-z0-9_.]*", r"[^\s]+",
                                       "a table of action names to keys (like \"ctrl+n\")")
    if "mcp_servers" in data:
        values["mcp_servers"] = _mcp_servers(data["mcp_servers"])
    profiles = {name: _profile(name, item) for name, item in _table(("profiles",), data.get("profiles", {})).items()}
    default = ""
    if "default_profile" in data:
        default = _string(("default_profile",), data["default_profile"])
        if default not in profiles:
            known = f"the profiles are {', '.join(profiles)}" if profiles else "there are no [profiles.NAME] tables"
            raise _Invalid(("default_profile",), f"default_profile {default!r} is not a profile ({known}).")
    return values, profiles, default


# -- reading ----------------------------------------------------------------------------
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$|\s*\(at end of document\)\s*$")


def read_config_file(path: Path) -> FileConfig | None:
    """The checked config file at `path`, or None when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {bad_line}: the config file is not UTF-8 text.") from None
    import tomllib  # only when there is a file: a start without one does not load the parser

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc).splitlines()[0] if str(exc) else "not valid TOML"
        where = _TOML_WHERE.search(message)
        line = getattr(exc, "lineno", None)
        column = ""
        if where is not None:
            line = int(where.group(1)) if where.group(1) else text.count("\n") + 1
            column = f" (column {where.group(2)})" if where.group(2) else " (at the end)"
            message = message[:where.start()]
        raise ConfigError(f"{path}, line {line or 1}: not valid TOML: {message.rstrip('.')}{column}.") from None
    lines = key_lines(text)
    try:
        values, profiles, default = _check(data)
    except _Invalid as exc:
        raise ConfigError(f"{path}, line {line_of(lines, exc.path)}: {exc.message}") from None
    warnings = _check_keys(path, profiles, lines)
    return FileConfig(path, values, profiles, default, warnings)


def _check_keys(path: Path, profiles: dict[str, dict[str, Any]], lines: dict[KeyPath, int]) -> tuple[str, ...]:
    """An API key in the file: refused unless only its owner can read the file, and a warning even then."""
    warnings: list[str] = []
    for name, profile in profiles.items():
        if "api_key" not in profile:
            continue
        line = line_of(lines, ("profiles", name, "api_key"))
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"{path}, line {line}: profile '{name}' has an api_key, but others can read the file "
                f"(mode {mode:04o}): run chmod 600 on it, or better, name the variable holding the key with api_key_env."
            )
        warnings.append(f"{path}, line {line}: profile '{name}' keeps an API key in the file; "
                        "api_key_env (the name of an environment variable holding it) is safer.")
    return tuple(warnings)
