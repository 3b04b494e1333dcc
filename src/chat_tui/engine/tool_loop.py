"""The client side of tool calls: running a round's calls, and pairing results for the prompt.

`ToolRunner.run` executes the calls one assistant message asked for: calls
that need approval are asked about one at a time, then the approved calls run
concurrently. Each result is saved as a `tool` message (and the assistant
message's calls updated) *before* its `ToolFinished` event is yielded.

`build_prompts` turns stored messages into what is sent to the model: every
assistant message with tool calls is followed by exactly one result per call,
in call order (both wire formats require it). A call that never got a result
(cancelled, interrupted, over the round limit) gets a short error result
instead, so an old cancelled turn never breaks the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace

from chat_tui.domain import ChatMessage, Role, ToolCall
from chat_tui.engine.events import ToolFinished, ToolRunning, TurnEvent
from chat_tui.engine.tools import ToolRegistry, one_line, result_text
from chat_tui.providers.base import PromptMessage
from chat_tui.store import Store

Approver = Callable[[ToolCall], Awaitable[bool]]
"""Asked before a call that needs approval runs; True lets it run."""

RESOLVED = ("ok", "error")
CANCEL_GRACE = 2.0
"""Seconds to wait for cancelled tool tasks to finish their cleanup."""
NOT_APPROVED = "Not run: the user did not approve this call."


def unresolved(calls: list[ToolCall]) -> list[ToolCall]:
    """The client-side calls that have no result yet."""
    return [c for c in calls if not c.server and c.status not in RESOLVED]


def missing_result(call: ToolCall) -> str:
    if call.status == "cancelled":
        return "Error: the user cancelled this call before it finished."
    return "Error: this call was not run."


def build_prompts(
    messages: list[ChatMessage], to_prompt: Callable[[ChatMessage], PromptMessage | None]
) -> list[PromptMessage]:
    prompts: list[PromptMessage] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        if message.role == Role.TOOL:
            continue  # results are placed right after the message that asked for them
        prompt = to_prompt(message)
        if prompt is None:
            continue
        prompts.append(prompt)
        if message.role != Role.ASSISTANT or not prompt.tool_calls:
            continue
        results: dict[str | None, str] = {}
        while i < len(messages) and messages[i].role == Role.TOOL:
            results[messages[i].tool_call_id] = messages[i].text
            i += 1
        for call in prompt.tool_calls:
            text = results.get(call.id)
            prompts.append(PromptMessage("tool", missing_result(call) if text is None else text, tool_call_id=call.id,
                                         is_error=text is None or call.status != "ok"))
    return prompts


def mark_cancelled(calls: list[ToolCall]) -> None:
    for call in calls:
        if call.status == "running":
            call.status, call.error = "cancelled", "Cancelled."


def _in_order(tasks: dict[asyncio.Task[ToolCall], ToolCall], chosen: set[asyncio.Task[ToolCall]]) -> list[
    asyncio.Task[ToolCall]
]:
    """`chosen` tasks in call order, with their outcome retrieved (`_save` reports one that failed)."""
    ordered = [t for t in tasks if t in chosen]
    for task in ordered:
        if not task.cancelled():
            task.exception()
    return ordered


class ToolRunner:
    def __init__(self, store: Store, registry: ToolRegistry, approve: Approver | None = None) -> None:
        self.store = store
        self.registry = registry
        self.approve = approve

    async def run(
        self, conversation_id: int, message_id: int, all_calls: list[ToolCall], calls: list[ToolCall]
    ) -> AsyncGenerator[list[TurnEvent], None]:
        """Run `calls` (a subset of the message's `all_calls`), yielding ToolRunning / ToolFinished."""
        ready: list[ToolCall] = []
        for call in calls:
            if self.registry.needs_approval(call.name) and not await self._approved(call):
                call.status, call.result, call.error, call.duration_ms = "error", None, NOT_APPROVED, 0
                yield [self._save(conversation_id, message_id, all_calls, call)]
            else:
                ready.append(call)
        if not ready:
            return
        for call in ready:
            call.status, call.result, call.error = "running", None, None
        self.store.set_tool_calls(message_id, all_calls)
        tasks = {asyncio.create_task(self.registry.run(call)): call for call in ready}
        pending = set(tasks)
        try:
            yield [ToolRunning(message_id, replace(call)) for call in ready]
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                yield [self._save(conversation_id, message_id, all_calls, tasks[t]) for t in _in_order(tasks, done)]
        finally:
            # Stopped (Esc): calls that finished meanwhile keep their result; the others are cancelled.
            running = {t for t in pending if not t.done()}
            for task in running:
                task.cancel()
            try:
                for task in _in_order(tasks, pending - running):
                    self._save(conversation_id, message_id, all_calls, tasks[task])
            finally:
                if running:
                    await asyncio.wait(running, timeout=CANCEL_GRACE)

    async def _approved(self, call: ToolCall) -> bool:
        if self.approve is None:
            return False
        try:
            return bool(await self.approve(call))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failing prompt counts as "no"
            return False

    def _save(self, conversation_id: int, message_id: int, all_calls: list[ToolCall], call: ToolCall) -> ToolFinished:
        if call.status not in RESOLVED:  # a task that ended without the registry's bookkeeping
            call.status, call.error = "error", one_line(call.error or "The tool did not finish.")
        tool_message_id = self.store.add_message(
            conversation_id, Role.TOOL, result_text(call), tool_call_id=call.id
        )
        self.store.set_tool_calls(message_id, all_calls)
        return ToolFinished(message_id, replace(call), tool_message_id)
