"""The views of one user message and one assistant answer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static

from chat_tui.domain import ChatMessage, MessageStatus, ToolCall
from chat_tui.sanitize import sanitize
from chat_tui.ui.blank import BlankBackground
from chat_tui.ui.kept_lines import KeptLines
from chat_tui.ui.textual_internals import LayoutOnce
from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner, describe_stop
from chat_tui.ui.widgets.reasoning_view import ReasoningView
from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.tool_call_view import ToolCallView


class UserMessageView(KeptLines, LayoutOnce, Static):
    DEFAULT_CSS = """
    UserMessageView {
        height: auto;
        padding: 0 1;
        margin: 1 0 0 0;
        border-left: thick $primary;
        background: $primary 8%;
    }
    """

    def __init__(self, text: str, *, message_id: int | None = None) -> None:
        # Content, not markup: the text is shown exactly as typed.
        super().__init__(Content(sanitize(text)))
        self.text = text
        self.message_id = message_id


def stats_line(ttft_ms: int | None, duration_ms: int | None, usage: dict | None, chars: int) -> str:
    parts = []
    if ttft_ms is not None:
        parts.append(f"first token {ttft_ms / 1000:.2f} s")
    completion = None
    prompt = None
    if usage:
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    tokens = completion if isinstance(completion, int) else None
    if duration_ms and ttft_ms is not None and duration_ms > ttft_ms:
        streamed_s = (duration_ms - ttft_ms) / 1000
        count = tokens if tokens is not None else max(1, chars // 4)
        approx = "" if tokens is not None else "~"
        parts.append(f"{approx}{count / streamed_s:.1f} tok/s")
    if isinstance(prompt, int) and tokens is not None:
        parts.append(f"{prompt:,} → {tokens:,} tokens")
    elif tokens is not None:
        parts.append(f"{tokens:,} tokens")
    return " · ".join(parts)


class _StatsLine(KeptLines, LayoutOnce, Static):
    """The line under a finished answer (its time to first token, tokens/s ...);
    blank while the answer streams."""


def conversation_totals(messages: list[ChatMessage], prices: object | None = None) -> str:
    """Totals over a conversation's answers: count, tokens, and cost when prices are known."""
    answers = [m for m in messages if m.role.value == "assistant" and m.status != MessageStatus.SUPERSEDED]
    prompt = completion = 0
    for message in answers:
        usage = message.usage or {}
        p = usage.get("prompt_tokens", usage.get("input_tokens"))
        c = usage.get("completion_tokens", usage.get("output_tokens"))
        prompt += p if type(p) is int else 0
        completion += c if type(c) is int else 0
    return totals_line(len(answers), prompt, completion, prices)


def totals_line(answers: int, prompt: int, completion: int, prices: object | None = None) -> str:
    """"3 answers · 1,200 → 800 tokens · $0.0123" ("" with no answers)."""
    if not answers:
        return ""
    parts = [f"{answers} answer{'s' if answers != 1 else ''}"]
    if prompt or completion:
        parts.append(f"{prompt:,} → {completion:,} tokens")
    cost = getattr(prices, "cost", None)
    if cost is not None and (prompt or completion):
        parts.append(f"${cost(prompt, completion):.4f}")
    return " · ".join(parts)


class AssistantMessageView(BlankBackground, LayoutOnce, Vertical):
    DEFAULT_CSS = """
    AssistantMessageView {
        height: auto;
        padding: 0 1;
        margin: 1 0 0 0;
    }
    AssistantMessageView .stats {
        color: $text-muted;
        text-style: dim;
        height: 1;
    }
    AssistantMessageView .model-label {
        color: $text-muted;
        height: 1;
    }
    AssistantMessageView .alternatives {
        color: $text-muted;
        height: 1;
    }
    """

    def __init__(
        self, *, message_id: int | None = None, text: str = "", streaming: bool = False, label: str = "", model: str = ""
    ) -> None:
        super().__init__()
        self.message_id = message_id
        self.streaming = streaming
        self.label = label
        self.model = model
        """The model that wrote this answer."""
        self.alternatives: tuple[int, int] | None = None
        """(this answer's number, how many) when the question was asked more than once."""
        self.body = MarkdownStreamView(text, streaming=streaming, waiting=streaming)
        self.banner: InterruptedBanner | None = None
        self._stats = ""
        self._stats_line: _StatsLine | None = None
        """The stats line. A streaming answer keeps its row, blank, from the start:
        when the answer ends, the line fills it with no layout of the screen
        (which then moved every line of the conversation up by one row)."""
        self._saved_calls: list[ToolCall] = []
        self.reasoning: ReasoningView | None = None
        self.tools_by_index: dict[int, ToolCallView] = {}
        self.tools_by_id: dict[str, ToolCallView] = {}
        self.hold_top: Widget | None = None
        """The question of a new answer (see `_hold`); None once another follows."""
        self._held = 0
        """Rows the view is laid out in at least (see `_hold`)."""

    @classmethod
    def saved(cls, message: ChatMessage) -> AssistantMessageView:
        """The view of a stored answer, with its banner or stats line."""
        view = cls(message_id=message.id, text=message.text, model=message.model)
        view.banner = _banner_for(message.id, message.status, message.error_kind, message.error_message, len(message.text))
        view._saved_calls = [c for c in message.tool_calls if not c.server]
        if message.reasoning:
            view.reasoning = ReasoningView(message.reasoning)
        if message.status == MessageStatus.COMPLETE:
            view._stats = stats_line(message.ttft_ms, message.duration_ms, message.usage, len(message.text))
        return view

    def compose(self) -> ComposeResult:
        if self.label:
            yield Static(Content(sanitize(self.label)), classes="model-label")
        if self.reasoning is not None:
            yield self.reasoning
        yield self.body
        for call in self._saved_calls:
            row = ToolCallView(call)
            self.tools_by_id[call.id] = row
            yield row
        if self.banner is not None:
            yield self.banner
        if self._stats or self.streaming:
            self._stats_line = _StatsLine(Content(self._stats), classes="stats")
            self._stats_line.display = bool(self._stats) or self.streaming
            yield self._stats_line
        if self.alternatives is not None:
            yield Static(self._alternatives_content(), classes="alternatives")

    # -- where the answer sits --------------------------------------------------------------
    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        resize = super()._size_updated(size, virtual_size, container_size, layout)
        if self.hold_top is not None:
            self._hold()
        return resize

    def _hold(self) -> None:
        """Keep the question at the top of the transcript's view, the answer
        taking the rows under it down to the view's bottom.

        A new answer is read where it starts, and stays put while it grows: it
        does not push the conversation up a row with every new line (which
        also had Textual lay out and repaint the whole screen at every frame).
        While the answer streams text, its body is laid out in those rows from
        the start and the text fills them; once something else comes under the
        text (a tool call, a banner) or the answer ends, the view keeps the
        height instead and the rows come after it. A question taller than the
        view, or an answer that outgrew it, holds nothing. Worked out at each
        layout, from where the layout placed the question and this view; a
        change has the screen laid out again before it is painted."""
        question, transcript, body = self.hold_top, self.parent, self.body
        if question is None or not isinstance(transcript, Widget) or question.parent is not transcript:
            return
        top, mine = question.region, self.region
        if not top or not mine:
            return
        rows = transcript.scrollable_content_region.height - (mine.y - (top.y - question.styles.margin.top))
        if body.streaming and not self._rows_under_body():
            resized = body.reserve(max(0, rows - (mine.height - body.region.height)))
            held = 0
        else:
            resized = body.reserve(0)
            held = max(0, rows)
            if not self._held and held <= mine.height:
                held = 0  # (taller already: nothing to hold)
        if resized:
            self._layout_again(body)
        if held != self._held:
            self._held = held
            self._layout_again(self)

    def _layout_again(self, widget: Widget) -> None:
        layout_again = getattr(self.screen, "layout_again", None)
        if layout_again is not None:
            layout_again(widget)
        else:
            widget.refresh(layout=True)

    def _rows_under_body(self) -> bool:
        children = list(self.children)
        return any(child is not self._stats_line for child in children[children.index(self.body) + 1 :])

    def _keep_height(self) -> None:
        """Something comes under the text of an answer laid out in held rows (a
        tool call, a banner, the stats line's text): the view keeps its height
        and the text its rows, so the layout that follows only moves what is
        under the text, and need not be done again."""
        if self.hold_top is not None and self.body.holding and self.region:
            self._held = self.region.height
            self.refresh(layout=True)
            if self.body.reserve(0):
                self.body.refresh(layout=True)

    def release_hold(self) -> None:
        """Another answer or question follows: this one sits where it is laid out."""
        self.hold_top = None
        if self.body.reserve(0):
            self.body.refresh(layout=True)
        if self._held:
            self._held = 0
            self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        height = super().get_content_height(container, viewport, width)
        return max(height, self._held - self.styles.gutter.height) if self._held else height

    # -- label and alternatives --------------------------------------------------------------
    def set_label(self, label: str) -> None:
        """Name the model that wrote the answer above it ("" for none)."""
        if label == self.label:
            return
        self.label = label
        if not self.is_mounted:
            return
        for old in self.query(".model-label"):
            old.remove()
        if label:
            self.mount(Static(Content(sanitize(label)), classes="model-label"), before=0)

    def _alternatives_content(self) -> Content:
        number, count = self.alternatives or (0, 0)
        return Content.assemble(
            ("◀ ", "$accent"), (f"answer {number} of {count}", "bold"), (" ▶", "$accent"),
            ("  Alt+← / Alt+→ to switch", "$text-muted"),
        )

    def set_alternatives(self, alternatives: tuple[int, int] | None) -> None:
        """Show "answer 2 of 3" under the answer (None: hide it)."""
        if alternatives == self.alternatives:
            return
        self.alternatives = alternatives
        if not self.is_mounted:
            return
        for old in self.query(".alternatives"):
            old.remove()
        if alternatives is not None:
            self.mount(Static(self._alternatives_content(), classes="alternatives"))

    def append(self, text: str) -> None:
        if text and self.reasoning is not None:
            self.reasoning.finish()
        self.body.append(text)  # (its first text takes the typing indicator's place)

    def append_reasoning(self, text: str) -> None:
        if not text:
            return
        self.body.stop_waiting()
        if self.reasoning is None:
            self.reasoning = ReasoningView(streaming=True)
            self.mount(self.reasoning, before=self.body)
        self.reasoning.append(text)

    # -- tool calls ---------------------------------------------------------------------------
    def tool_started(self, index: int, call_id: str, name: str) -> None:
        """A call's name is known: its row appears (arguments may still stream)."""
        self.body.stop_waiting()
        row = ToolCallView(ToolCall(call_id, name, status="pending"))
        self.tools_by_index[index] = row
        if call_id:
            self.tools_by_id[call_id] = row
        self._mount_row(row)

    def _mount_row(self, row: Widget) -> None:
        """Mount a row under the answer (above its stats line)."""
        self._keep_height()
        if self._stats_line is not None and self._stats_line.parent is self:
            self.mount(row, before=self._stats_line)
        else:
            self.mount(row)

    def tool_arguments(self, index: int, text: str) -> None:
        if (row := self.tools_by_index.get(index)) is not None:
            row.add_arguments(text)

    def tool_ended(self, index: int, call_id: str, name: str, arguments: str) -> None:
        row = self.tools_by_index.get(index)
        if row is None:
            self.tool_started(index, call_id, name)
            row = self.tools_by_index[index]
        row.call.id = call_id
        self.tools_by_id[call_id] = row
        row.set_arguments(arguments)

    def tool_update(self, call: ToolCall, *, running: bool) -> None:
        row = self.tools_by_id.get(call.id)
        if row is None:
            row = ToolCallView(call)
            self.tools_by_id[call.id] = row
            self._mount_row(row)
        if running:
            row.start(call)
        else:
            row.finish(call)

    def show_waiting(self, label: str, countdown: float | None = None) -> None:
        """Show (again) the indicator with a label, e.g. a retry countdown."""
        self.body.show_waiting(label, countdown)

    def resume(self) -> None:
        """A partial answer is being continued: cursor back, banner gone."""
        self.remove_banner()
        if self._stats_line is not None:
            self._stats_line.update(Content(""), layout=False)
            self._stats_line.display = True
        self.streaming = True
        self.body.resume()

    def remove_banner(self) -> None:
        if self.banner is not None:
            self.banner.remove()
            self.banner = None

    def finish(
        self,
        status: MessageStatus,
        *,
        error_kind: str | None = None,
        error_message: str | None = None,
        stats: str = "",
    ) -> None:
        """The answer ended: drop the cursor and indicator; banner or stats line."""
        self.streaming = False
        self._keep_height()
        if self.reasoning is not None:
            self.reasoning.finish()
        self.body.finish()
        self.remove_banner()
        if self.message_id is not None:
            self.banner = _banner_for(self.message_id, status, error_kind, error_message, len(self.body.text))
            if self.banner is not None:
                self._mount_row(self.banner)
        self._stats = stats
        if self._stats_line is not None and self._stats_line.parent is self:
            self._stats_line.update(Content(stats), layout=False)  # (one row high whatever it says)
            self._stats_line.display = bool(stats)
        elif stats:
            self._stats_line = _StatsLine(Content(stats), classes="stats")
            self.mount(self._stats_line)


def _banner_for(
    message_id: int, status: MessageStatus, error_kind: str | None, error_message: str | None, chars: int
) -> InterruptedBanner | None:
    if status not in (MessageStatus.CANCELLED, MessageStatus.INTERRUPTED, MessageStatus.ERROR):
        return None
    reason = describe_stop(status, error_kind, error_message, chars)
    return InterruptedBanner(message_id, reason, status=status, can_continue=chars > 0)
