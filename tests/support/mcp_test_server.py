"""A tiny MCP server for tests, spoken to over stdio: `python mcp_test_server.py`."""

from __future__ import annotations

try:  # mcp 2 renamed FastMCP to MCPServer
    from mcp.server.mcpserver import MCPServer as FastMCP
except ImportError:  # pragma: no cover - mcp 1
    from mcp.server.fastmcp import FastMCP  # type: ignore[no-redef]

server = FastMCP("test-tools")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return str(a + b)


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ValueError(reason)


if __name__ == "__main__":
    server.run()
