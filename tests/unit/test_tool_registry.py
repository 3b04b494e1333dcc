"""The tool registry: what it offers, and how a call ends (never a crash)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat_tui.domain import ToolCall
from chat_tui.engine.tools import Tool, ToolError, ToolRegistry, check_arguments, result_text

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}, "n": {"type": "integer"}}, "required": ["text"]}


async def echo(text: str, n: int = 1) -> str:
    return text * n


def make(**options: Any) -> ToolRegistry:
    return ToolRegistry([Tool("echo", "Echo the text n times.", SCHEMA, echo)], **options)


async def test_a_good_call() -> None:
    call = await make().run(ToolCall("c1", "echo", '{"text": "ab", "n": 2}'))
    assert (call.status, call.result, call.error) == ("ok", "abab", None)
    assert call.duration_ms is not None and call.duration_ms >= 0
    assert result_text(call) == "abab"


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("nope", "{}", "'nope' does not exist. Available tools: echo"),
        ("echo", '{"text": ', "not valid JSON"),
        ("echo", "[1, 2]", "must be a JSON object"),
        ("echo", "{}", "Missing required argument(s): text"),
        ("echo", '{"text": "a", "colour": "red"}', "Unknown argument(s): colour"),
        ("echo", '{"text": 5}', "'text' must be of type string"),
        ("echo", '{"text": "a", "n": true}', "'n' must be of type integer, not boolean"),
    ],
)
async def test_bad_calls_become_error_results(name: str, arguments: str, message: str) -> None:
    call = await make().run(ToolCall("c1", name, arguments))
    assert call.status == "error"
    assert message in (call.error or "")
    assert "\n" not in (call.error or "")
    assert result_text(call) == f"Error: {call.error}"


async def test_empty_arguments_mean_no_arguments() -> None:
    registry = ToolRegistry([Tool("ping", "", {"type": "object", "properties": {}}, lambda_ping)])
    call = await registry.run(ToolCall("c1", "ping", ""))
    assert (call.status, call.result) == ("ok", "pong")


async def lambda_ping() -> str:
    return "pong"


async def test_exceptions_in_a_tool_become_one_line_errors() -> None:
    async def broken(text: str) -> str:
        raise RuntimeError("disk\non fire")

    async def polite(text: str) -> str:
        raise ToolError("No such thing.")

    registry = ToolRegistry([Tool("broken", "", SCHEMA, broken), Tool("polite", "", SCHEMA, polite)])
    broken_call = await registry.run(ToolCall("1", "broken", '{"text": "x"}'))
    assert (broken_call.status, broken_call.error) == ("error", "RuntimeError: disk on fire")
    polite_call = await registry.run(ToolCall("2", "polite", '{"text": "x"}'))
    assert polite_call.error == "No such thing."


async def test_a_slow_tool_times_out() -> None:
    stopped = asyncio.Event()

    async def slow(text: str) -> str:
        try:
            await asyncio.sleep(30)
        finally:
            stopped.set()
        return "never"

    registry = ToolRegistry([Tool("slow", "", SCHEMA, slow)], timeout=0.05)
    call = await registry.run(ToolCall("1", "slow", '{"text": "x"}'))
    assert call.status == "error"
    assert call.error == "The tool 'slow' timed out after 0.05 s."
    assert stopped.is_set()


async def test_per_tool_timeout_overrides_the_registry() -> None:
    async def slow(text: str) -> str:
        await asyncio.sleep(30)
        return "never"

    registry = ToolRegistry([Tool("slow", "", SCHEMA, slow, timeout=0.01)], timeout=30)
    call = await registry.run(ToolCall("1", "slow", '{"text": "x"}'))
    assert "timed out after 0.01 s" in (call.error or "")


async def test_long_results_are_truncated_with_a_note() -> None:
    registry = make(max_result_chars=100)
    call = await registry.run(ToolCall("1", "echo", '{"text": "x", "n": 250}'))
    assert call.result is not None
    assert call.result.startswith("x" * 100 + "\n[… truncated: 150 more characters")


async def test_non_text_results_are_sent_as_json() -> None:
    async def data() -> dict[str, Any]:
        return {"a": [1, 2]}

    registry = ToolRegistry([Tool("data", "", {"type": "object", "properties": {}}, data)])
    assert (await registry.run(ToolCall("1", "data", "{}"))).result == '{"a": [1, 2]}'


async def test_mutating_tools_are_off_unless_enabled() -> None:
    async def delete(text: str) -> str:
        return "deleted"

    registry = ToolRegistry([Tool("delete", "", SCHEMA, delete, mutating=True), Tool("echo", "", SCHEMA, echo)])
    assert [s.name for s in registry.specs()] == ["echo"]
    call = await registry.run(ToolCall("1", "delete", '{"text": "x"}'))
    assert call.status == "error" and "is disabled" in (call.error or "")
    registry.enable("delete")
    assert [s.name for s in registry.specs()] == ["delete", "echo"]
    assert (await registry.run(ToolCall("2", "delete", '{"text": "x"}'))).result == "deleted"


async def test_cancelling_a_call_marks_it_cancelled() -> None:
    started = asyncio.Event()

    async def wait(text: str) -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    call = ToolCall("1", "wait", '{"text": "x"}')
    task = asyncio.ensure_future(ToolRegistry([Tool("wait", "", SCHEMA, wait)]).run(call))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert call.status == "cancelled"


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError):
        ToolRegistry([Tool("a", "", {}, echo), Tool("a", "", {}, echo)])


def test_schema_without_properties_accepts_anything() -> None:
    check_arguments({"type": "object"}, {"anything": 1})
