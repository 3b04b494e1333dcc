"""Tools from Model Context Protocol servers, started as subprocesses over stdio.

Each configured server (`{name, command, args, env, approval}`) runs in its
own background task that keeps the MCP session open; its tools join the
`ToolRegistry` as `<server>__<tool>`. A server that fails to start (missing
command, crash, no handshake in time) is reported in its `MCPServerStatus`
and the others still work. The `mcp` SDK is imported only when a server is
started, so start-up stays fast when none is configured.

    async with MCPTools(configs, registry) as statuses:
        ...  # run turns; the registry now offers the servers' tools
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from chat_tui.engine.tools import Tool, ToolError, ToolRegistry, one_line
from chat_tui.errors import ConfigError

START_TIMEOUT = 20.0
"""Seconds a server has to start and answer the handshake."""
STOP_TIMEOUT = 5.0
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class MCPServerConfig:
    name: str
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    approval: bool = True
    """Each call needs the user's approval (the default: a server's tools may change things)."""


@dataclass(slots=True)
class MCPServerStatus:
    name: str
    tools: list[str] = field(default_factory=list)
    """The registered tool names (`<server>__<tool>`)."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_server_configs(data: Any) -> list[MCPServerConfig]:
    """Configs from a list of `{name, command, args, env, approval}` (or `{"servers": [...]}`)."""
    if isinstance(data, dict) and "servers" in data:
        data = data["servers"]
    if not isinstance(data, list):
        raise ConfigError("MCP servers must be a list of {name, command, args, env, approval}.")
    configs: list[MCPServerConfig] = []
    for position, item in enumerate(data, 1):
        configs.append(_parse_one(item, position))
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"MCP server names must be unique: {', '.join(names)}.")
    return configs


def load_server_configs(path: str) -> list[MCPServerConfig]:
    """Configs from a JSON file (a list, or an object with a "servers" list)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"Cannot read the MCP config {path}: {exc.strerror or exc}.") from None
    except ValueError as exc:
        raise ConfigError(f"The MCP config {path} is not valid JSON: {exc}.") from None
    return parse_server_configs(data)


def _parse_one(item: Any, position: int) -> MCPServerConfig:
    where = f"MCP server {position}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be an object with name and command.")
    name, command = item.get("name"), item.get("command")
    if not isinstance(name, str) or not _NAME.sub("", name) or _NAME.search(name):
        raise ConfigError(f"{where}: 'name' must be letters, digits, '_' or '-'.")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(f"MCP server {name!r}: 'command' must be a program to run.")
    args, env, approval = item.get("args", []), item.get("env", {}), item.get("approval", True)
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"MCP server {name!r}: 'args' must be a list of strings.")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ConfigError(f"MCP server {name!r}: 'env' must map names to strings.")
    if approval in ("always", "never"):
        approval = approval == "always"
    if not isinstance(approval, bool):
        raise ConfigError(f"MCP server {name!r}: 'approval' must be true, false, \"always\" or \"never\".")
    return MCPServerConfig(name, command, tuple(args), dict(env), approval)


def tool_name(server: str, tool: str) -> str:
    return _NAME.sub("_", f"{server}__{tool}")[:64]


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"command not found ({exc.filename or exc})"
    return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def result_to_text(result: Any) -> str:
    """An MCP `CallToolResult` as text; raises ToolError when the server flags an error."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} content not shown]")
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    if getattr(result, "is_error", None) or getattr(result, "isError", None):
        raise ToolError(text or "The MCP server reported an error.")
    return text


class MCPServer:
    """One server process and its open session, held by a background task."""

    def __init__(self, config: MCPServerConfig, *, start_timeout: float = START_TIMEOUT) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self.session: Any = None
        self.tools: list[Any] = []
        self.error: str | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._errlog: IO[str] | None = None

    async def start(self) -> bool:
        """Start the server; False (and `error` set) if it could not start."""
        # The server's stderr: kept off the screen, its last line quoted if start-up fails.
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._task = asyncio.ensure_future(self._serve())
        try:
            await asyncio.wait_for(self._ready.wait(), self.start_timeout)
        except TimeoutError:
            self.error = f"no answer to the handshake within {self.start_timeout:g} s"
            self._task.cancel()
        if self.error is not None:
            await self.close(keep_log=True)
            self.error = self._with_stderr(self.error)
            self._close_log()
            return False
        return True

    async def _serve(self) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=self.config.command, args=list(self.config.args),
                                       env=self.config.env or None)
        try:
            async with (
                stdio_client(params, errlog=self._errlog) as (read, write),  # type: ignore[arg-type]
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                self.tools = list((await session.list_tools()).tools)
                self.session = session
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # noqa: BLE001 - reported as this server's status
            self.error = self.error or _describe(exc)
        finally:
            self.session = None
            if not self._ready.is_set():
                self.error = self.error or "the server stopped during start-up"
                self._ready.set()

    def _with_stderr(self, message: str) -> str:
        tail = ""
        if self._errlog is not None:
            with contextlib.suppress(OSError, ValueError):
                self._errlog.seek(0)
                lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
                tail = lines[-1] if lines else ""
        return one_line(f"{message} (stderr: {tail})" if tail else message)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        session = self.session
        if session is None:
            raise ToolError(f"The MCP server {self.config.name!r} is not running.")
        return result_to_text(await session.call_tool(name, arguments))

    async def close(self, *, keep_log: bool = False) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_TIMEOUT)
        if not keep_log:
            self._close_log()

    def _close_log(self) -> None:
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def registry_tools(self) -> list[Tool]:
        return [self._tool(t) for t in self.tools]

    def _tool(self, info: Any) -> Tool:
        remote = str(info.name)
        schema = getattr(info, "input_schema", None) or getattr(info, "inputSchema", None) or {}
        schema = dict(schema) if isinstance(schema, dict) else {"type": "object"}
        schema.setdefault("type", "object")

        async def run(**arguments: Any) -> str:
            return await self.call(remote, arguments)

        description = str(getattr(info, "description", "") or "")
        label = f"[MCP server {self.config.name}] {description}".strip()
        return Tool(tool_name(self.config.name, remote), label, schema, run, needs_approval=self.config.approval)


class MCPTools:
    """Starts the configured servers and adds their tools to `registry`; removes them on close."""

    def __init__(self, configs: Iterable[MCPServerConfig], registry: ToolRegistry, **options: Any) -> None:
        self.servers = [MCPServer(c, **options) for c in configs]
        self.registry = registry
        self.statuses: list[MCPServerStatus] = []
        self._added: list[str] = []

    async def start(self) -> list[MCPServerStatus]:
        started = await asyncio.gather(*(server.start() for server in self.servers))
        self.statuses = [self._register(server, ok) for server, ok in zip(self.servers, started, strict=True)]
        return self.statuses

    def _register(self, server: MCPServer, ok: bool) -> MCPServerStatus:
        status = MCPServerStatus(server.config.name, error=None if ok else server.error)
        for tool in server.registry_tools() if ok else []:
            if tool.name in self.registry:
                continue  # a duplicate name (after shortening); the first one wins
            self.registry.add(tool)
            self._added.append(tool.name)
            status.tools.append(tool.name)
        return status

    async def aclose(self) -> None:
        for name in self._added:
            self.registry.remove(name)
        self._added.clear()
        await asyncio.gather(*(server.close() for server in self.servers), return_exceptions=True)

    async def __aenter__(self) -> list[MCPServerStatus]:
        try:
            return await self.start()
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
