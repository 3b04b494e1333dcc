"""One conversation turn: build the request, drive the provider, checkpoint.

`ChatEngine.run_turn` is an async generator of event batches. For each batch
the provider delivers, the new text is committed to the store *first* and the
batch is yielded after, so whatever a consumer shows is already saved.

Whatever ends the turn, the `finally` block records the outcome from the
engine's own state: `complete`, `cancelled` (the generator was closed or its
task cancelled: Esc), `interrupted` (the stream broke after content arrived,
or stopped at the length limit) or `error` (it failed before any content).
Iterate it with `contextlib.aclosing` so that cleanup runs at once on cancel.

Tool calls: when a round ends normally with client-side tool calls, the engine
runs them (`ToolRunning` / `ToolFinished` events; each result saved as a `tool`
message first), marks that message `complete`, starts a new assistant message
(`RoundStarted`) and streams the model's next answer, until it answers without
tools or `max_rounds` model requests were made (then the message ends
`interrupted` with kind `tool_limit` and its calls stay unrun). Cancelling
while a tool runs cancels the tool (its call is marked `cancelled`) and the
turn; `TurnEnded` always refers to the last assistant message. Continuing a
message whose calls did not all run runs them and goes on with the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chat_tui.domain import ChatMessage, MessageStatus, Role, ToolCall
from chat_tui.engine.coalesce import coalesced
from chat_tui.engine.events import Retrying, RoundStarted, SeamTrimmed, TurnEnded, TurnEvent, TurnStarted
from chat_tui.engine.tool_loop import Approver, ToolRunner, build_prompts, mark_cancelled, unresolved
from chat_tui.engine.tools import ToolRegistry
from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers.base import ChatRequest, PromptMessage, Provider
from chat_tui.providers.events import (
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamFailed,
    TextDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageReported,
)
from chat_tui.store import Store

CONTINUE_INSTRUCTION = (
    "Your previous answer was cut off. Continue it exactly where it stopped, "
    "without repeating anything and without any preamble."
)
SEAM_WINDOW = 64
"""Characters of a continuation held back, at most, to find text the model
repeated at the seam (usually far fewer: see `seam_settled`)."""
DEFAULT_MAX_ROUNDS = 8
"""Most model requests in one turn (each round of tool calls needs one more)."""


@dataclass(slots=True)
class RetryPolicy:
    """Automatic retries of failures that happen before any content arrived."""

    attempts: int = 3
    """Retries after the first try (0 turns retrying off)."""
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def waits_too_long(self, error: ProviderError) -> bool:
        """The server asks for a longer wait than a retry would: a quota that
        resets in an hour, say. Retrying sooner would only fail again."""
        return error.retry_after is not None and error.retry_after > self.max_retry_after

    def delay(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)


def _with_wait(error: ProviderError) -> ProviderError:
    """`error`, its message saying how long the server asks to wait."""
    assert error.retry_after is not None
    seconds = round(error.retry_after)
    if seconds < 120:
        wait = f"{seconds} s"
    elif seconds < 7200:
        wait = f"{round(seconds / 60)} min"
    else:
        hours, minutes = divmod(round(seconds / 60), 60)
        wait = f"{hours} h" + (f" {minutes} min" if minutes else "")
    message = f"{error.message} (the server asks to wait {wait} before trying again)"
    return ProviderError(error.kind, message, status=error.status, retry_after=error.retry_after, raw=error.raw,
                         permanent=error.permanent)


@dataclass(slots=True)
class _TurnState:
    started: float = field(default_factory=time.monotonic)
    first_content: float | None = None
    chars: int = 0
    reasoning_chars: int = 0
    finish_reason: str | None = None
    finished: bool = False
    error: ProviderError | None = None
    usage: dict[str, Any] | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tools_started: int = 0

    @property
    def has_content(self) -> bool:
        return bool(self.chars or self.reasoning_chars or self.tools_started)

    def outcome(self) -> tuple[MessageStatus, ProviderError | None]:
        if self.error is not None:
            if self.error.kind == ErrorKind.CANCELLED:
                return MessageStatus.CANCELLED, self.error
            return (MessageStatus.INTERRUPTED if self.has_content else MessageStatus.ERROR), self.error
        if self.finished:
            if self.finish_reason in ("length", "max_tokens"):
                error = ProviderError(ErrorKind.LENGTH, "The model stopped at its output length limit.")
                return MessageStatus.INTERRUPTED, error
            return MessageStatus.COMPLETE, None
        return MessageStatus.CANCELLED, ProviderError(ErrorKind.CANCELLED, "Cancelled.")


@dataclass(slots=True)
class Alternatives:
    """The answers given to one message: each attempt's messages (assistant
    rounds and tool results), oldest first, and which one is shown."""

    attempts: list[list[ChatMessage]]
    active: int | None
    """The index of the attempt in use (None if every one is superseded)."""


@dataclass(slots=True)
class _Round:
    """One assistant message of a turn."""

    message_id: int
    request: ChatRequest | None
    """None when the round only runs the tool calls left over by an earlier turn."""
    state: _TurnState
    existing: str = ""
    continuing: bool = False
    number: int = 1
    attempt: int | None = None
    """The id of the first message of this answer (None: this round's own)."""


def _doubled_space(existing: str, continuation: str) -> int:
    """The leading white space of `continuation` that doubles the white space
    `existing` ends with: after a space, the spaces and tabs that follow it;
    after a line end, the line ends (and the blank lines' spaces) before the
    next line's indentation, which is kept (a code block or a nested list cut
    at the end of a line goes on with its indentation)."""
    lead = continuation[: len(continuation) - len(continuation.lstrip())]
    if existing[-1] in "\r\n":
        return max(lead.rfind("\n"), lead.rfind("\r")) + 1
    return len(lead) - len(lead.lstrip(" \t"))


def seam_overlap(existing: str, continuation: str, min_chars: int = 4, *, repeats: bool = True) -> int:
    """How many leading characters of `continuation` repeat the end of `existing`.

    `repeats`: whether the model may have said again what it had said (it was
    asked to go on, in a message of its own, and often starts a few words
    back). A model that continues its own answer, given as the start of its
    reply (prefill), goes on from its last character: only doubled white space
    is dropped (Anthropic's API takes the answer without its trailing white
    space). Text that merely looks repeated is kept: a table cut after
    "| --- | --- |" goes on " --- | --- |", which is not a repeat."""
    if existing and continuation and existing[-1].isspace() and continuation[0].isspace():
        return _doubled_space(existing, continuation)
    if not repeats:
        return 0
    for k in range(min(len(existing), len(continuation)), min_chars - 1, -1):
        if existing.endswith(continuation[:k]):
            return k
    return 0


def seam_settled(existing: str, held: str, *, repeats: bool = True) -> bool:
    """Whether `seam_overlap(existing, held + more, repeats=repeats)` is the same for any `more`:
    the start of a continuation need not be held back any longer.

    A longer overlap than `held` itself needs `held` to occur in `existing`
    before its very end (the overlap would start there). A model that does not
    repeat itself is usually settled after a few characters, not `SEAM_WINDOW`.
    """
    if not held:
        return False
    if existing and existing[-1].isspace() and held[0].isspace():
        # The doubled white space is known once something else comes (after a
        # space: anything but a space or tab).
        rest = held.lstrip() if existing[-1] in "\r\n" else held.lstrip(" \t")
        return bool(rest)
    return not repeats or existing.find(held, 0, len(existing) - 1) == -1


@dataclass(slots=True)
class _Seam:
    """The start of a continuation, held back until it is known how much of it
    repeats the answer so far (at most `SEAM_WINDOW` characters)."""

    existing: str
    repeats: bool
    """See `seam_overlap`."""
    pieces: list[str] = field(default_factory=list)

    def hold(self, text: str) -> bool:
        """Hold `text` back; False once the seam is settled (`resolve` then)."""
        self.pieces.append(text)
        held = "".join(self.pieces)
        return len(held) < SEAM_WINDOW and not seam_settled(self.existing, held, repeats=self.repeats)

    def resolve(self) -> tuple[str, int]:
        """What is shown of the held text, and how many characters were dropped."""
        held = "".join(self.pieces)
        overlap = seam_overlap(self.existing, held, repeats=self.repeats)
        return held[overlap:], overlap


def to_prompt(message: ChatMessage) -> PromptMessage | None:
    if message.role == Role.ASSISTANT:
        if message.status == MessageStatus.ERROR and not message.text and not message.tool_calls:
            return None
        calls = [c for c in message.tool_calls if not c.server]
        return PromptMessage("assistant", message.text, tool_calls=calls)
    if message.role == Role.TOOL:
        return PromptMessage("tool", message.text, tool_call_id=message.tool_call_id)
    return PromptMessage(message.role.value, message.text)


class ChatEngine:
    def __init__(
        self,
        store: Store,
        provider: Provider,
        *,
        system_prompt: str = "",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        tools: ToolRegistry | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        approve: Approver | None = None,
    ) -> None:
        """`tools`: offered to the model (default: the built-ins; `ToolRegistry()` for none).
        `approve`: asked before each call to a tool that needs approval (None: refuse them)."""
        self.store = store
        self.provider = provider
        self.system_prompt = system_prompt
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        if tools is None:
            from chat_tui.engine.builtin_tools import builtin_registry

            tools = builtin_registry()
        self.tools = tools
        self.max_rounds = max(1, max_rounds)
        self.approve = approve

    def new_conversation(self, title: str = "") -> int:
        return self.store.create_conversation(
            provider=self.provider.name, model=self.provider.model, system_prompt=self.system_prompt, title=title
        )

    def history(self, conversation_id: int, *, before: int | None = None) -> list[PromptMessage]:
        messages = [
            m for m in self.store.messages(conversation_id)
            if (before is None or m.id < before) and m.status not in (MessageStatus.STREAMING, MessageStatus.SUPERSEDED)
        ]
        return build_prompts(messages, to_prompt)

    async def run_turn(
        self,
        conversation_id: int,
        prompt: str | None = None,
        *,
        continue_message_id: int | None = None,
        retry_message_id: int | None = None,
        edit_message_id: int | None = None,
    ) -> AsyncIterator[list[TurnEvent]]:
        """Send `prompt` (or continue a partial answer, or ask again in place of an
        answer, or send `prompt` in place of the user message `edit_message_id`)
        and stream the reply, running its tool calls. Replaced messages are kept,
        superseded, and never sent to the model again."""
        if retry_message_id is not None:
            prompt = self._supersede(conversation_id, retry_message_id)
        if edit_message_id is not None:
            self._supersede_from(conversation_id, edit_message_id)
        rnd, user_id = self._open_turn(conversation_id, prompt, continue_message_id, reuse_prompt=retry_message_id is not None)
        self.store.touch_conversation(conversation_id, provider=self.provider.name, model=self.provider.model)
        message_ids = [rnd.message_id]
        try:
            yield [TurnStarted(conversation_id, user_id, rnd.message_id, continued=rnd.continuing)]
            while True:
                if rnd.request is not None:
                    async with contextlib.aclosing(self._stream_round(rnd)) as batches:
                        async for out in batches:
                            yield out
                calls = unresolved(rnd.state.tool_calls)
                if not calls or rnd.state.outcome()[0] != MessageStatus.COMPLETE:
                    break
                if rnd.number >= self.max_rounds and rnd.request is not None:  # continuing always makes progress
                    rnd.state.error = ProviderError(
                        ErrorKind.TOOL_LIMIT,
                        f"Stopped after {self.max_rounds} rounds of tool calls: continue to run the calls and go on.",
                    )
                    break
                runner = ToolRunner(self.store, self.tools, self.approve)
                async with contextlib.aclosing(
                    runner.run(conversation_id, rnd.message_id, rnd.state.tool_calls, calls)
                ) as results:
                    async for out in results:
                        yield out
                rnd = self._next_round(conversation_id, rnd)
                message_ids.append(rnd.message_id)
                yield [RoundStarted(rnd.message_id, message_ids[-2], rnd.number)]
        except (asyncio.CancelledError, GeneratorExit):
            rnd.state.error = ProviderError(ErrorKind.CANCELLED, "Cancelled.")
            mark_cancelled(rnd.state.tool_calls)
            raise
        finally:
            ended = self._finish(rnd.message_id, rnd.state, rnd.continuing)
        ended.message_ids = message_ids
        yield [ended]

    def _supersede_from(self, conversation_id: int, user_message_id: int) -> None:
        """Retire a user message and everything after it (the user edits it)."""
        messages = self.store.messages(conversation_id)
        if not any(m.id == user_message_id and m.role == Role.USER for m in messages):
            raise ValueError(f"no user message {user_message_id} to edit")
        self._retire(messages, user_message_id)

    def _supersede(self, conversation_id: int, message_id: int) -> str:
        """Retire the answer `message_id` (and the rest of its turn) for a retry; its prompt."""
        messages = self.store.messages(conversation_id)
        target = next((m for m in messages if m.id == message_id and m.role == Role.ASSISTANT), None)
        user = next((m for m in reversed(messages) if m.role == Role.USER and m.id < message_id), None)
        if target is None or user is None:
            raise ValueError(f"no answer {message_id} to retry")
        self._retire(messages, user.id + 1)
        return user.text

    def _retire(self, messages: list[ChatMessage], first_id: int) -> None:
        """Mark the messages from `first_id` on superseded (kept, never sent again)."""
        self.store.supersede([m.id for m in messages if m.id >= first_id and m.status != MessageStatus.SUPERSEDED])

    def alternatives(self, conversation_id: int, messages: list[ChatMessage] | None = None) -> Alternatives | None:
        """The answers to the conversation's last message, when it was asked more
        than once (retry, regenerate); None when it has a single answer.
        `messages`: the conversation's messages, when the caller has them already."""
        if messages is None:
            messages = self.store.messages(conversation_id)
        last_user = next((m for m in reversed(messages)
                          if m.role == Role.USER and m.status != MessageStatus.SUPERSEDED), None)
        if last_user is None:
            return None
        attempts: list[list[ChatMessage]] = []
        previous: ChatMessage | None = None
        for message in messages:
            if message.id <= last_user.id or message.role not in (Role.ASSISTANT, Role.TOOL):
                continue
            if message.role == Role.TOOL:
                if attempts:
                    attempts[-1].append(message)
                continue
            if message.attempt is not None:
                same = previous is not None and previous.attempt == message.attempt
            else:  # rows from before attempts were recorded: a round after tool calls goes on the same answer
                same = previous is not None and previous.attempt is None and bool(previous.tool_calls)
            if same and attempts:
                attempts[-1].append(message)
            else:
                attempts.append([message])
            previous = message
        if len(attempts) < 2:
            return None
        active = next((i for i in reversed(range(len(attempts)))
                       if any(m.role == Role.ASSISTANT and m.status != MessageStatus.SUPERSEDED for m in attempts[i])),
                      None)
        return Alternatives(attempts, active)

    def switch_alternative(self, conversation_id: int, index: int) -> list[ChatMessage]:
        """Show the answer `index` of `alternatives()` in place of the current one
        (which is kept, superseded); its messages, as now stored."""
        found = self.alternatives(conversation_id)
        if found is None or not 0 <= index < len(found.attempts):
            raise ValueError(f"no alternative answer {index}")
        current = found.attempts[found.active] if found.active is not None else []
        if any(m.status == MessageStatus.STREAMING for m in current):
            raise ValueError("the current answer is still streaming")
        chosen = found.attempts[index]
        if index != found.active:
            self.store.supersede([m.id for m in current], restore=[m.id for m in chosen])
        return [m for m in self.store.messages(conversation_id) if m.id in {c.id for c in chosen}]

    def _open_turn(
        self, conversation_id: int, prompt: str | None, continue_message_id: int | None, *, reuse_prompt: bool = False
    ) -> tuple[_Round, int | None]:
        """Save the prompt (or reopen the message to continue); the first round and the user message id."""
        store = self.store
        if continue_message_id is None:
            if prompt is None:
                raise ValueError("run_turn needs a prompt or a message to continue")
            if reuse_prompt:  # a retry: the prompt is already the conversation's last user message
                request = self._request(self.history(conversation_id))
                message_id = store.start_assistant(conversation_id, model=self.provider.model, provider=self.provider.name)
                return _Round(message_id, request, _TurnState(), attempt=message_id), None
            user_id = store.add_message(conversation_id, Role.USER, prompt)
            self._title_from(conversation_id, prompt)
            request = self._request(self.history(conversation_id))
            message_id = store.start_assistant(conversation_id, model=self.provider.model, provider=self.provider.name)
            return _Round(message_id, request, _TurnState(), attempt=message_id), user_id
        message = store.get_message(continue_message_id)
        if message is None or message.role != Role.ASSISTANT:
            raise ValueError(f"no assistant message {continue_message_id} to continue")
        if unresolved(message.tool_calls):
            # The answer itself was complete but its tool calls did not all run: run them, go on.
            reason = message.finish_reason if message.finish_reason not in ("length", "max_tokens") else None
            state = _TurnState(finish_reason=reason, finished=True, tool_calls=list(message.tool_calls),
                               tools_started=len(message.tool_calls))
            store.resume_streaming(message.id)
            return _Round(message.id, None, state, message.text, continuing=True), None
        request = self._continue_request(conversation_id, message)
        store.resume_streaming(message.id)
        state = _TurnState(tool_calls=list(message.tool_calls))
        return _Round(message.id, request, state, message.text, continuing=True), None

    def _next_round(self, conversation_id: int, rnd: _Round) -> _Round:
        """The calls of `rnd` have run: close its message and open the next one."""
        self._finish(rnd.message_id, rnd.state, rnd.continuing)
        request = self._request(self.history(conversation_id))
        attempt = rnd.attempt
        if attempt is None:
            first = self.store.get_message(rnd.message_id)
            attempt = (first.attempt if first is not None else None) or rnd.message_id
        message_id = self.store.start_assistant(
            conversation_id, model=self.provider.model, provider=self.provider.name, attempt=attempt
        )
        return _Round(message_id, request, _TurnState(), number=rnd.number + 1, attempt=attempt)

    async def _stream_round(self, rnd: _Round) -> AsyncGenerator[list[TurnEvent], None]:
        """Stream one request into `rnd`'s message, retrying failures that come before any content."""
        assert rnd.request is not None
        state = rnd.state
        seam = _Seam(rnd.existing, repeats=not rnd.request.prefill) if rnd.continuing and rnd.existing else None
        attempt = 0
        while True:
            retry_error: ProviderError | None = None
            async with contextlib.aclosing(coalesced(self.provider.stream(rnd.request))) as stream:
                async for batch in stream:
                    failure = next((e for e in batch if isinstance(e, StreamFailed)), None)
                    if failure is not None and self.retry.waits_too_long(failure.error):
                        # Not retried: the message says when the server will take the request.
                        batch = [StreamFailed(_with_wait(failure.error), failure.finish_reason)
                                 if e is failure else e for e in batch]
                    # Content in the same batch as the failure was received: keep it, no retry.
                    elif (failure is not None and not state.has_content and failure.error.retryable
                            and attempt < self.retry.attempts
                            and not any(isinstance(e, (TextDelta, ReasoningDelta, RefusalDelta, ToolCallStarted))
                                        for e in batch)):
                        retry_error = failure.error
                        break
                    out, seam = self._absorb(batch, state, rnd.message_id, seam)
                    if out:
                        yield out
            if retry_error is None:
                return
            attempt += 1
            delay = self.retry.delay(attempt, retry_error)
            yield [Retrying(attempt, self.retry.attempts, delay, retry_error)]
            await self._sleep(delay)

    def _absorb(
        self, batch: Any, state: _TurnState, message_id: int, seam: _Seam | None
    ) -> tuple[list[TurnEvent], _Seam | None]:
        """Record one provider batch in the store; return the events to show."""
        out: list[TurnEvent] = []
        text_parts: list[str] = []
        reasoning_parts: list[str] = []
        for event in batch:
            match event:
                case TextDelta(text=text) | RefusalDelta(text=text):
                    if seam is not None:
                        if seam.hold(text):
                            continue
                        text, trimmed = seam.resolve()
                        seam = None
                        if trimmed:
                            out.append(SeamTrimmed(trimmed))
                        if not text:
                            continue
                        event = TextDelta(text)
                    text_parts.append(text)
                case ReasoningDelta(text=text):
                    reasoning_parts.append(text)
                case ToolCallStarted():
                    state.tools_started += 1
                case ToolCallEnded(id=call_id, name=name, arguments=arguments, server=server):
                    if not call_id or any(c.id == call_id for c in state.tool_calls):
                        call_id = f"{call_id or 'call'}_{len(state.tool_calls)}"  # results are matched by id
                    state.tool_calls.append(ToolCall(call_id, name, arguments, server=server, status="requested"))
                case UsageReported(usage=usage):
                    state.usage = usage
                case Finished(reason=reason) | StreamFailed(finish_reason=reason) if seam is not None:
                    text, trimmed = seam.resolve()
                    seam = None
                    if trimmed:
                        out.append(SeamTrimmed(trimmed))
                    if text:
                        text_parts.append(text)
                        out.append(TextDelta(text))
            match event:
                case Finished(reason=reason):
                    state.finished = True
                    state.finish_reason = reason
                case StreamFailed(error=error, finish_reason=reason):
                    state.error = error
                    state.finish_reason = reason
            out.append(event)
        if text_parts or reasoning_parts:
            text = "".join(text_parts)
            reasoning = "".join(reasoning_parts)
            self.store.append(message_id, text, reasoning)
            if state.first_content is None:
                state.first_content = time.monotonic()
            state.chars += len(text)
            state.reasoning_chars += len(reasoning)
        elif state.first_content is None and state.tools_started:
            state.first_content = time.monotonic()
        return out, seam

    def _finish(self, message_id: int, state: _TurnState, continuing: bool) -> TurnEnded:
        status, error = state.outcome()
        now = time.monotonic()
        ttft = int((state.first_content - state.started) * 1000) if state.first_content else None
        duration = int((now - state.started) * 1000)
        try:
            if state.tool_calls:
                self.store.set_tool_calls(message_id, state.tool_calls)
            self.store.finish(
                message_id,
                status,
                error_kind=error.kind.value if error else None,
                error_message=error.message if error else None,
                finish_reason=state.finish_reason,
                usage=state.usage,
                ttft_ms=None if continuing else ttft,
                duration_ms=duration,
            )
        except Exception:  # noqa: BLE001 - the store's own error is reported by its next use
            pass
        return TurnEnded(
            message_id, status, error, state.finish_reason, state.usage, ttft, duration, state.chars, state.tool_calls
        )

    def _request(self, messages: list[PromptMessage], *, prefill: bool = False) -> ChatRequest:
        return ChatRequest(
            model=self.provider.model, messages=messages, system=self.system_prompt, prefill=prefill,
            tools=self.tools.specs(),
        )

    def _continue_request(self, conversation_id: int, message: ChatMessage) -> ChatRequest:
        messages = self.history(conversation_id, before=message.id)
        messages.append(PromptMessage("assistant", message.text))
        if self.provider.supports_prefill:
            return self._request(messages, prefill=True)
        messages.append(PromptMessage("user", CONTINUE_INSTRUCTION))
        return self._request(messages)

    def _title_from(self, conversation_id: int, prompt: str) -> None:
        conversation = self.store.get_conversation(conversation_id)
        if conversation is not None and not conversation.title:
            first = " ".join(prompt.strip().split("\n", 1)[0].split())
            title = first if len(first) <= 60 else first[:59].rstrip() + "…"
            self.store.rename_conversation(conversation_id, title or "Untitled")
