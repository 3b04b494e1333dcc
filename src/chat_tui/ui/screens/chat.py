"""ChatScreen: the transcript, the prompt, and the worker that runs a turn.

The worker is a thin adapter: it iterates the engine's event batches and calls
widget methods. Text is already in the store when an event arrives here.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from chat_tui.domain import ChatMessage, MessageStatus, Role
from chat_tui.engine import ChatEngine, Retrying, TurnEnded, TurnStarted
from chat_tui.engine.events import RoundStarted, ToolFinished, ToolRunning
from chat_tui.errors import ChatTuiError
from chat_tui.providers.events import (
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
)
from chat_tui.sanitize import sanitize
from chat_tui.ui.blank import BlankBackground
from chat_tui.ui.textual_internals import CroppedCompositor, LayoutAgain, PaintSoon, ScrollsTerminal
from chat_tui.ui.widgets.header_bar import HeaderBar
from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner
from chat_tui.ui.widgets.key_bar import KeyBar
from chat_tui.ui.widgets.message_view import (
    AssistantMessageView,
    UserMessageView,
    conversation_totals,
    stats_line,
    totals_line,
)
from chat_tui.ui.widgets.placeholders import EarlierMessages, EmptyState
from chat_tui.ui.widgets.prompt_input import PromptInput
from chat_tui.ui.widgets.transcript import Transcript

DEMO_HINT = (
    "You are on the offline demo model. To use a real one: set OPENAI_API_KEY or ANTHROPIC_API_KEY, "
    "or start with --base-url http://localhost:11434/v1 (Ollama, vLLM, llama.cpp, LM Studio…)."
)


def message_view(message: ChatMessage, model: str = "") -> UserMessageView | AssistantMessageView:
    """`model`: the conversation's current model; an answer by another one is labelled with its own."""
    if message.role == Role.USER:
        return UserMessageView(message.text, message_id=message.id)
    view = AssistantMessageView.saved(message)
    view.label = message.model if model and message.model and message.model != model else ""
    return view


class ChatScreen(LayoutAgain, ScrollsTerminal, PaintSoon, BlankBackground, Screen[None]):
    PAGE = 30
    """The most messages mounted at a time when a saved conversation opens or scrolls up."""
    PAGE_CHARS = 6000
    """...and once the messages of a page hold this much text, no more: about one
    and a half screens, so that only what is about to be seen gets rendered."""
    PREFETCH_CHARS = 8000
    """Older messages holding this much text are rendered ahead, a block or two
    at a time while nothing else happens, so that scrolling back to them mounts
    lines already drawn instead of pausing to render them."""
    SCROLL_PAGE_CHARS = 2000
    """The same while scrolling back: smaller pages (often a single message),
    loaded one after another while the view is within a screen of the top, so
    that each costs a short pause rather than one long one."""
    KEEP_SCREENS = 1.5
    RETIRE_AT_LEAST = 8
    """When a question is sent (or the last answer asked again), the mounted
    messages above the last ones that fill `KEEP_SCREENS` screens (by their
    text's length) are unmounted, if there are at least `RETIRE_AT_LEAST` of
    them; scrolling up mounts them again, a page at a time. Textual lays out every mounted widget at each
    frame of a streaming answer: 60 mounted messages made each frame's layout
    ~8 ms longer here, 200 messages ~28 ms (11 frames/s; `benchmarks/session.py`)."""
    _conversation_model = ""
    BINDINGS = [
        # Each binding's id (its action's name) can be given other keys in the config file's [keys] table.
        Binding("escape", "cancel_turn", "Stop answer", id="cancel_turn"),
        Binding("ctrl+n", "new_conversation", "New chat", id="new_conversation"),
        Binding("ctrl+o", "open_conversations", "Conversations", id="open_conversations"),
        Binding("ctrl+r", "retry", "Retry", show=False, id="retry"),
        Binding("ctrl+g", "continue_answer", "Continue", show=False, id="continue_answer"),
        Binding("ctrl+s", "copy_answer", "Copy answer", show=False, id="copy_answer"),
        Binding("ctrl+t", "copy_code", "Copy code", show=False, id="copy_code"),
        Binding("f3", "copy_any", "Copy…", show=False, id="copy_any"),
        Binding("f1", "help", "Help", id="help"),
        Binding("ctrl+l", "pick_model", "Switch model", show=False, id="pick_model"),
        Binding("f2", "edit_last", "Edit last message", show=False, id="edit_last"),
        Binding("f5", "regenerate", "Regenerate", show=False, id="regenerate"),
        Binding("alt+left", "previous_answer", "Previous answer", show=False, id="previous_answer"),
        Binding("alt+right", "next_answer", "Next answer", show=False, id="next_answer"),
        # Before the prompt's own PageUp/PageDown (which move its cursor in a few lines of text).
        Binding("pageup", "scroll_page(-1)", "Scroll up", show=False, priority=True, id="scroll_up"),
        Binding("pagedown", "scroll_page(1)", "Scroll down", show=False, priority=True, id="scroll_down"),
    ]

    def __init__(self, engine: ChatEngine, conversation_id: int | None = None) -> None:
        super().__init__()
        self._compositor = CroppedCompositor()
        self.engine = engine
        self.conversation_id = conversation_id
        self._streaming_view: AssistantMessageView | None = None
        self._earlier: list[ChatMessage] = []
        self._user_view: UserMessageView | None = None
        self._editing: int | None = None
        """The id of the user message being edited in the prompt, if any."""
        self._loading_earlier = False
        self._prepared: dict[int, UserMessageView | AssistantMessageView] = {}
        """Views of older messages, built and rendered ahead of scrolling back to them."""
        self._prefetch_timer: Timer | None = None

    @property
    def is_demo(self) -> bool:
        return self.engine.provider.name == "demo"

    def compose(self) -> ComposeResult:
        yield HeaderBar(self.engine.provider.label, demo=self.is_demo)
        yield Transcript(id="transcript")
        with Vertical(id="prompt-bar"):
            if self.is_demo:
                yield Static(Content(DEMO_HINT), id="demo-hint")
            yield PromptInput(id="prompt")
        yield KeyBar()

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    async def on_mount(self) -> None:
        self.watch(self.transcript, "scroll_y", self._near_top, init=False)
        if self.conversation_id is not None:
            await self.load_conversation(self.conversation_id)
        else:
            self._show_empty_state(True)
        self.prompt.focus()
        self._show_keys()

    def _show_keys(self) -> None:
        """Esc shows in the bottom bar only when it does something: it stops a
        streaming answer, or cancels the edit of a message."""
        bar = self.query_one(KeyBar)
        if self._streaming_view is not None:
            bar.undescribe("cancel_turn")
        else:
            bar.describe("cancel_turn", "Cancel edit" if self._editing is not None else None)

    # -- loading ---------------------------------------------------------------------------
    async def load_conversation(self, conversation_id: int) -> None:
        store = self.engine.store
        conversation = store.get_conversation(conversation_id)
        if conversation is None:
            self.notify(f"Conversation {conversation_id} no longer exists.", severity="warning", markup=False)
            return
        self.conversation_id = conversation_id
        self.query_one(HeaderBar).set_title(conversation.title)
        stored = store.messages(conversation_id)
        messages = [
            m for m in stored if m.role in (Role.USER, Role.ASSISTANT) and m.status != MessageStatus.SUPERSEDED
        ]
        self.prompt.sent = [m.text for m in messages if m.role == Role.USER]
        # Only the end is mounted now; older messages are mounted as the user
        # scrolls up, so a conversation of any length opens at once.
        count = self._page_size(messages)
        self._earlier = []  # (no loading of older pages while the view is emptied)
        self._prepared.clear()
        transcript = self.transcript
        await transcript.remove_children()
        earlier = messages[:-count]
        if earlier:
            await transcript.mount(EarlierMessages(len(earlier)))
        self._conversation_model = conversation.model
        await transcript.mount_all([message_view(m, conversation.model) for m in messages[len(messages) - count:]])
        self._show_empty_state(not messages)
        self._update_totals(stored)
        self._show_alternatives(stored)
        transcript.scroll_end(animate=False, immediate=True)
        transcript.anchor()
        # Only now may scrolling near the top load older pages: while the page
        # was mounted the view was at 0 (nothing laid out yet), and a change of
        # its scroll position then loaded an older page and "kept" the view
        # there, short of the end.
        self._earlier = earlier
        self.call_after_refresh(self._fill_view)
        self._prefetch_soon(0.25)  # once the conversation is on screen

    def _page_size(self, messages: list[ChatMessage], budget: int | None = None, least: int = 2) -> int:
        """How many of the last `messages` make a page: up to PAGE, until they
        hold `budget` characters of text (PAGE_CHARS), at least `least`."""
        budget = self.PAGE_CHARS if budget is None else budget
        count = chars = 0
        for message in reversed(messages):
            if count >= self.PAGE or (count >= least and chars >= budget):
                break
            count += 1
            chars += len(message.text)
        return count

    async def _fill_view(self) -> None:
        """Messages too short to fill the view: mount older ones until it scrolls."""
        transcript = self.transcript
        if self._earlier and transcript.max_scroll_y < transcript.size.height:
            await self._load_earlier()
            self.call_after_refresh(self._fill_view)

    async def _load_earlier(self) -> None:
        """Mount the next page of older messages above, keeping the view still."""
        if not self._earlier or self._loading_earlier:
            return
        self._loading_earlier = True
        try:
            transcript = self.transcript
            count = self._page_size(self._earlier, self.SCROLL_PAGE_CHARS, least=1)
            page, self._earlier = self._earlier[-count:], self._earlier[:-count]
            marker = transcript.query(EarlierMessages)
            views = [self._prepared.pop(m.id, None) or message_view(m, self._conversation_model) for m in page]
            anchor = next((w for w in transcript.children if not isinstance(w, EarlierMessages)), None)
            # Where the first message was on screen: it stays there.
            on_screen = anchor.virtual_region.y - transcript.scroll_y if anchor is not None else 0
            await transcript.mount_all(views, after=marker.first() if marker else None, before=None if marker else 0)
            if marker:
                if self._earlier:
                    marker.first().count = len(self._earlier)
                else:
                    await marker.first().remove()
        except BaseException:
            self._loading_earlier = False
            raise

        def keep_position(tries: int = 0) -> None:
            # The new page's height settles over a refresh or two: follow it.
            target = anchor.virtual_region.y - on_screen if anchor is not None else transcript.scroll_y
            if target != transcript.scroll_y and tries < 5:
                transcript.scroll_to(y=target, animate=False, immediate=True)
                self.call_after_refresh(keep_position, tries + 1)
                return
            self._loading_earlier = False
            self._near_top(transcript.scroll_y)  # still close to the top: the next page
            self._prefetch_soon()

        self.call_after_refresh(keep_position)

    async def _retire_old_views(self) -> None:
        """Unmount the views of the oldest messages of a long session (see
        `KEEP_SCREENS`); they go back to the messages loaded on scrolling up."""
        transcript = self.transcript
        views = [w for w in transcript.children if isinstance(w, (UserMessageView, AssistantMessageView))]
        if len(views) <= self.RETIRE_AT_LEAST or self.conversation_id is None or self._loading_earlier:
            return
        # The last views whose text fills the screens kept (a message takes its
        # margin, its lines, and a line or two of labels).
        width = max(20, transcript.size.width - 4)
        wanted = self.KEEP_SCREENS * max(1, transcript.size.height)
        keep = lines = 0
        for view in reversed(views):
            if keep >= 2 and lines >= wanted:
                break
            keep += 1
            text = view.text if isinstance(view, UserMessageView) else view.body.text
            lines += 2 + len(text) // width + text.count("\n")
        if len(views) - keep < self.RETIRE_AT_LEAST:
            return
        try:
            stored = self.engine.store.messages(self.conversation_id)
        except ChatTuiError:
            return  # the store is failing: the next turn says so; keep everything on screen
        shown = [m for m in stored if m.role in (Role.USER, Role.ASSISTANT) and m.status != MessageStatus.SUPERSEDED]
        position = {m.id: i for i, m in enumerate(shown)}
        places = [position.get(v.message_id) for v in views]  # type: ignore[arg-type]
        if None in places or places != sorted(places):  # type: ignore[type-var]
            return  # a view not saved (or not as stored): leave them all
        self._earlier = shown[:places[len(views) - keep]]
        await transcript.remove_children(views[:len(views) - keep])
        marker = transcript.query(EarlierMessages)
        if marker:
            marker.first().count = len(self._earlier)
        else:
            await transcript.mount(EarlierMessages(len(self._earlier)), before=0)

    def _prefetch_soon(self, delay: float = 0.03) -> None:
        if self._prefetch_timer is None and self._earlier:
            self._prefetch_timer = self.set_timer(delay, self._prefetch_step, name="prefetch")

    def _prefetch_step(self) -> None:
        """Render a block or two of the older messages the next scroll loads (one step per tick)."""
        self._prefetch_timer = None
        if self._streaming_view is not None or not self._earlier:
            return  # a stream has the CPU; the next load (or the turn's end) starts again
        widths = [v.body.size.width for v in self.transcript.query(AssistantMessageView) if v.body.size.width > 0]
        if not widths:
            return
        chars = 0
        for message in reversed(self._earlier):
            if chars >= self.PREFETCH_CHARS:
                break
            chars += len(message.text)
            view = self._prepared.get(message.id)
            if view is None:
                view = self._prepared[message.id] = message_view(message, self._conversation_model)
            if isinstance(view, AssistantMessageView) and not view.body.prepare(widths[-1], blocks=1):
                self._prefetch_soon()  # more of it next time
                return

    def _near_top(self, scroll_y: float) -> None:
        # Within a screen of the top: the next page is mounted before it is needed.
        if self._earlier and scroll_y < max(3, self.transcript.size.height):
            self.run_worker(self._load_earlier, group="earlier", exclusive=True)

    # -- sending ---------------------------------------------------------------------------
    @on(PromptInput.Submitted)
    def send_prompt(self, event: PromptInput.Submitted) -> None:
        if self._still_streaming():
            return
        text = event.text
        self.prompt.sent.append(text)
        self.prompt.clear()
        editing, self._editing = self._editing, None
        self._show_keys()
        self.prompt.border_title = None
        self.run_turn(prompt=text, edit_id=editing)

    def _update_totals(self, messages: list[ChatMessage] | None = None) -> None:
        """The conversation's totals in the header (answers, tokens, cost when priced)."""
        if self.conversation_id is None:
            self.query_one(HeaderBar).set_totals("")
            return
        prices = getattr(getattr(self.app, "settings", None), "prices", None)
        if messages is None:
            # Counted by the database: reading every message at each answer's end
            # cost ~14 ms in a conversation of 1,000, and grew with it.
            totals = totals_line(*self.engine.store.answer_totals(self.conversation_id), prices)
        else:
            totals = conversation_totals(messages, prices)
        self.query_one(HeaderBar).set_totals(totals)

    def _show_empty_state(self, show: bool) -> None:
        """The demo hint and the empty state, shown only while the conversation is empty."""
        for hint in self.query("#demo-hint"):
            hint.display = show
        empty = self.transcript.query(EmptyState)
        if show and not empty:
            self.transcript.mount(EmptyState(self.is_demo))
        elif not show:
            empty.remove()

    def _ensure_conversation(self) -> int:
        if self.conversation_id is None:
            self.conversation_id = self.engine.new_conversation()
        return self.conversation_id

    @work(exclusive=True, group="turn")
    async def run_turn(
        self,
        prompt: str | None = None,
        continue_id: int | None = None,
        retry_id: int | None = None,
        edit_id: int | None = None,
    ) -> None:
        transcript = self.transcript
        model = self.engine.provider.model
        # The screen is not painted until the new answer is in place: the
        # question is shown where it goes, not first where it was.
        with self.app.batch_update():
            if edit_id is not None:
                await self._remove_from(edit_id)
            self._release_holds()
            if retry_id is not None:
                await self._remove_answers_of_turn(retry_id)
                await self._retire_old_views()
                view = AssistantMessageView(streaming=True, model=model)
                view.hold_top = self._question_before(None)
                await transcript.mount(view)
            elif continue_id is not None:
                found = self._view_for(continue_id)
                if found is None:
                    return
                view = found
                view.hold_top = self._question_before(view)
                view.resume()
            else:
                assert prompt is not None
                self._show_empty_state(False)
                await self._retire_old_views()
                self._user_view = UserMessageView(prompt)
                view = AssistantMessageView(streaming=True, model=model)
                view.hold_top = self._user_view
                await transcript.mount_all([self._user_view, view])
        # Answers by another model than this one say which model wrote them.
        self._conversation_model = model
        self._relabel()
        transcript.anchor()
        self._streaming_view = view
        self._show_keys()
        # One blinking cursor at a time: the answer's. (The prompt's blink repaints too.)
        self.prompt.cursor_blink = False
        # The question and the typing indicator on screen as soon as the screen
        # is free, not at the update timer's next tick (up to 8 ms on): from a
        # local server the answer's first text can come as soon, and its first
        # paint then also laid out the new answer (11-15 ms, not 2-5).
        self.paint_soon()
        try:
            conversation_id = self._ensure_conversation()
            turn = self.engine.run_turn(
                conversation_id, prompt, continue_message_id=continue_id, retry_message_id=retry_id,
                edit_message_id=edit_id,
            )
            async with contextlib.aclosing(turn) as events:
                async for batch in events:
                    view = await self._apply(view, batch)
        except asyncio.CancelledError:
            self._finish_from_store(self._streaming_view or view)
            raise
        except ChatTuiError as exc:
            self._finish_from_store(self._streaming_view or view)
            self.notify(sanitize(str(exc)), title=exc.title, severity="error", markup=False)
        finally:
            self._streaming_view = None
            self._show_keys()
            self.prompt.cursor_blink = True
            for answer in transcript.query(AssistantMessageView):
                answer.model = answer.model or model  # the rounds of this turn
            recent = None
            with contextlib.suppress(ChatTuiError):
                self._update_totals()
                if self.conversation_id is not None:
                    recent = self.engine.store.turn_messages(self.conversation_id)
            self._show_alternatives(recent)
            self._prefetch_soon()

    async def _apply(self, view: AssistantMessageView, batch: list) -> AssistantMessageView:
        """Show one batch of turn events; returns the view that now streams."""
        texts: list[str] = []
        for event in batch:
            if texts and not isinstance(event, (TextDelta, RefusalDelta)):
                view.append("".join(texts))
                texts = []
            match event:
                case TextDelta(text=text) | RefusalDelta(text=text):
                    texts.append(text)
                case ReasoningDelta(text=text):
                    view.append_reasoning(text)
                case ToolCallStarted(index=index, id=call_id, name=name, server=False):
                    view.tool_started(index, call_id, name)
                case ToolCallArgumentsDelta(index=index, text=text):
                    view.tool_arguments(index, text)
                case ToolCallEnded(index=index, id=call_id, name=name, arguments=arguments, server=False):
                    view.tool_ended(index, call_id, name, arguments)
                case ToolRunning(call=call):
                    view.tool_update(call, running=True)
                case ToolFinished(call=call):
                    view.tool_update(call, running=False)
                case RoundStarted(message_id=message_id):
                    question = view.hold_top
                    view.release_hold()
                    view.finish(MessageStatus.COMPLETE)
                    view = AssistantMessageView(message_id=message_id, streaming=True)
                    view.hold_top = question
                    self._streaming_view = view
                    await self.transcript.mount(view)
                case TurnStarted(message_id=message_id, conversation_id=cid, user_message_id=user_id):
                    view.message_id = message_id
                    if user_id is not None and self._user_view is not None:
                        self._user_view.message_id = user_id
                    conversation = self.engine.store.get_conversation(cid)
                    if conversation is not None:
                        self.query_one(HeaderBar).set_title(conversation.title)
                case Retrying(attempt=attempt, max_attempts=most, delay=delay, error=error):
                    view.show_waiting(f"{error.message} Retry {attempt} of {most}", countdown=delay)
                case TurnEnded() as ended:
                    view.finish(
                        ended.status,
                        error_kind=ended.error.kind.value if ended.error else None,
                        error_message=ended.error.message if ended.error else None,
                        stats=stats_line(ended.ttft_ms, ended.duration_ms, ended.usage, ended.chars)
                        if ended.status == MessageStatus.COMPLETE else "",
                    )
        if texts:
            view.append("".join(texts))
        return view

    def _release_holds(self) -> None:
        """A new turn: earlier answers sit where they are laid out (see `AssistantMessageView.hold_top`)."""
        for answer in self.transcript.query_children(AssistantMessageView):
            if answer.hold_top is not None:
                answer.release_hold()

    def _question_before(self, view: AssistantMessageView | None) -> UserMessageView | None:
        """The question `view` answers (None: the last question), if it is on screen."""
        children = list(self.transcript.children)
        end = children.index(view) if view is not None and view in children else len(children)
        return next((w for w in reversed(children[:end]) if isinstance(w, UserMessageView)), None)

    def _finish_from_store(self, view: AssistantMessageView) -> None:
        message = self.engine.store.get_message(view.message_id) if view.message_id else None
        if message is None:
            view.finish(MessageStatus.CANCELLED, error_kind="cancelled")
            return
        for call in message.tool_calls:
            if call.id in view.tools_by_id:
                view.tool_update(call, running=False)
        view.finish(message.status, error_kind=message.error_kind, error_message=message.error_message)

    def _relabel(self) -> None:
        current = self._conversation_model
        for answer in self.transcript.query(AssistantMessageView):
            answer.set_label(answer.model if current and answer.model and answer.model != current else "")

    def export_conversation(self, fmt: str) -> None:
        """Write the conversation on screen to a file in the current directory."""
        from chat_tui.export import export_to_directory

        conversation = self.engine.store.get_conversation(self.conversation_id) if self.conversation_id else None
        if conversation is None:
            self.notify("Nothing to export yet: this conversation is empty.", severity="warning")
            return
        try:
            path = export_to_directory(conversation, self.engine.store.messages(conversation.id), fmt, Path.cwd())
        except (OSError, ChatTuiError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.notify(sanitize(f"Cannot export to the current directory: {reason}."), severity="error", markup=False)
            return
        self.notify(sanitize(f"Exported to {path}"), title="Export", markup=False)

    # -- alternative answers ---------------------------------------------------------------
    def _show_alternatives(self, messages: list[ChatMessage] | None = None) -> None:
        """ "answer 2 of 3" under the last answer, when its question was asked more than once."""
        answers = list(self.transcript.query(AssistantMessageView))
        found = None
        if self.conversation_id is not None and answers:
            try:
                found = self.engine.alternatives(self.conversation_id, messages)
            except ChatTuiError:
                found = None
        for answer in answers[:-1]:
            answer.set_alternatives(None)
        if answers:
            shown = None
            if found is not None and found.active is not None:
                if answers[-1].message_id in {m.id for m in found.attempts[found.active]}:
                    shown = (found.active + 1, len(found.attempts))
            answers[-1].set_alternatives(shown)

    async def action_previous_answer(self) -> None:
        """Show the answer given before this one to the last message."""
        await self._switch_answer(-1)

    async def action_next_answer(self) -> None:
        """Show the answer given after this one to the last message."""
        await self._switch_answer(+1)

    async def _switch_answer(self, step: int) -> None:
        if self._still_streaming():
            return
        found = self.engine.alternatives(self.conversation_id) if self.conversation_id is not None else None
        if found is None:
            self.notify("The last message has one answer. F5 asks again and keeps both.", severity="information")
            return
        index = (found.active if found.active is not None else len(found.attempts)) + step
        if not 0 <= index < len(found.attempts):
            self.app.bell()
            return
        try:
            messages = self.engine.switch_alternative(self.conversation_id, index)  # type: ignore[arg-type]
        except (ValueError, ChatTuiError) as exc:
            self.notify(sanitize(str(exc)), severity="error", markup=False)
            return
        transcript = self.transcript
        children = list(transcript.children)
        users = [i for i, w in enumerate(children) if isinstance(w, UserMessageView)]
        # The answer shown in place of another keeps the question where it was.
        question = next((w.hold_top for w in children if isinstance(w, AssistantMessageView) and w.hold_top), None)
        if users:
            await transcript.remove_children(children[users[-1] + 1:])
        views = [message_view(m, self._conversation_model) for m in messages if m.role == Role.ASSISTANT]
        if views and isinstance(views[-1], AssistantMessageView) and question is not None and question.is_attached:
            views[-1].hold_top = question
        await transcript.mount_all(views)
        self._relabel()
        self._update_totals()
        self._show_alternatives()
        transcript.scroll_end(animate=False)
        transcript.anchor()

    def _view_for(self, message_id: int) -> AssistantMessageView | None:
        for view in self.transcript.query(AssistantMessageView):
            if view.message_id == message_id:
                return view
        return None

    # -- actions -----------------------------------------------------------------------------
    def can(self, what: str) -> bool:
        """Whether a command would do something now (the command palette lists
        only those): `what` is a command's name, as in `ChatApp.get_system_commands`."""
        streaming = self._streaming_view is not None
        if what == "stop_answer":
            return streaming
        if what == "cancel_edit":
            return not streaming and self._editing is not None
        if what == "copy_answer":
            return self._last_answer() is not None
        if what == "copy_code":
            from chat_tui.markdown_blocks import code_blocks

            return bool(code_blocks(self._last_answer() or ""))
        if what in ("copy_any", "export"):
            return self.conversation_id is not None
        if streaming:
            return False  # the rest wait for the answer to end
        if what == "pick_model":
            return True
        if what in ("continue_answer", "retry"):
            banner = self._last_banner()
            return banner is not None and (banner.can_continue or what == "retry")
        if what == "edit_last":
            return any(v.message_id is not None for v in self.transcript.query(UserMessageView))
        if what == "regenerate":
            return any(v.message_id is not None for v in self.transcript.query(AssistantMessageView))
        if what in ("previous_answer", "next_answer"):
            answers = list(self.transcript.query(AssistantMessageView))
            shown = answers[-1].alternatives if answers else None
            return shown is not None and (shown[0] > 1 if what == "previous_answer" else shown[0] < shown[1])
        raise ValueError(f"no such command: {what}")

    def action_scroll_page(self, direction: int) -> None:
        """PageUp/PageDown scroll the conversation, also while the prompt has the focus.
        Scrolling up stops following a streaming answer; back at the bottom, it follows again."""
        if direction < 0:
            self.transcript.scroll_page_up(animate=False)
        else:
            self.transcript.scroll_page_down(animate=False)

    def action_cancel_turn(self) -> None:
        """Esc: stop the streaming answer (or stop editing; nothing else happens)."""
        if self._streaming_view is not None:
            self.workers.cancel_group(self, "turn")
        elif self._editing is not None:
            self._editing = None
            self._show_keys()
            self.prompt.border_title = None
            self.prompt.clear()

    def _still_streaming(self) -> bool:
        """An answer streams: say so (what was asked waits for it to end)."""
        if self._streaming_view is None:
            return False
        self.notify("An answer is still streaming: press Esc to stop it first.", severity="warning")
        return True

    def action_edit_last(self) -> None:
        """Put the last message back in the prompt; sending replaces it and its answer."""
        if self._still_streaming():
            return
        users = [v for v in self.transcript.query(UserMessageView) if v.message_id is not None]
        if not users:
            self.notify("There is no message to edit yet.", severity="warning")
            return
        last = users[-1]
        self._editing = last.message_id
        self._show_keys()
        self.prompt.load_text(last.text)
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.border_title = "Editing your last message · Enter resends · Esc cancels"
        self.prompt.focus()

    def action_regenerate(self) -> None:
        """Ask the last question again; the old answer is kept, superseded."""
        if self._still_streaming():
            return
        answers = [v for v in self.transcript.query(AssistantMessageView) if v.message_id is not None]
        if not answers:
            self.notify("There is no answer to ask again yet.", severity="warning")
            return
        self.retry(answers[-1].message_id)

    async def _remove_from(self, user_message_id: int) -> None:
        """Remove the view of a user message and everything after it."""
        children = list(self.transcript.children)
        start = next((i for i, w in enumerate(children)
                      if isinstance(w, UserMessageView) and w.message_id == user_message_id), None)
        if start is not None:
            await self.transcript.remove_children(children[start:])

    def _last_banner(self) -> InterruptedBanner | None:
        banners = list(self.transcript.query(InterruptedBanner))
        return banners[-1] if banners else None

    def action_continue_answer(self) -> None:
        if self._still_streaming():
            return
        banner = self._last_banner()
        if banner is None or not banner.can_continue:
            self.notify("There is no interrupted answer to continue.", severity="warning")
            return
        self.run_turn(continue_id=banner.message_id)

    def action_retry(self) -> None:
        if self._still_streaming():
            return
        banner = self._last_banner()
        if banner is None:
            self.notify("There is no interrupted answer to retry (F5 asks the last question again).",
                        severity="warning")
            return
        self.retry(banner.message_id)

    def retry(self, message_id: int) -> None:
        """Ask again from scratch: the same prompt, a new answer in place of the old one
        (which stays in the store, superseded). Only the last turn: retrying an
        earlier one would retire every turn after it."""
        users = [w for w in self.transcript.children if isinstance(w, UserMessageView)]
        answers_after_last_user = [
            w.message_id for w in self.transcript.children[self.transcript.children.index(users[-1]):]
            if isinstance(w, AssistantMessageView)
        ] if users else []
        if message_id not in answers_after_last_user:
            self.notify("Only the last answer can be asked again; an earlier one can be continued (Continue).",
                        severity="warning")
            return
        self.run_turn(retry_id=message_id)

    async def _remove_answers_of_turn(self, message_id: int) -> None:
        """Remove the views of the answer `message_id` and the rest of its turn."""
        children = list(self.transcript.children)
        target = next((i for i, w in enumerate(children)
                       if isinstance(w, AssistantMessageView) and w.message_id == message_id), None)
        if target is None:
            return
        start = target
        while start > 0 and not isinstance(children[start - 1], UserMessageView):
            start -= 1
        end = target + 1
        while end < len(children) and not isinstance(children[end], UserMessageView):
            end += 1
        await self.transcript.remove_children(children[start:end])

    @on(InterruptedBanner.ActionRequested)
    def handle_banner(self, event: InterruptedBanner.ActionRequested) -> None:
        if self._streaming_view is not None:
            return
        if event.action == "continue":
            self.run_turn(continue_id=event.message_id)
        elif event.action == "retry":
            self.retry(event.message_id)
        elif event.action == "dismiss":
            self.engine.store.dismiss_error(event.message_id)
            event.banner.remove()

    async def action_new_conversation(self) -> None:
        if self._streaming_view is not None:
            self.workers.cancel_group(self, "turn")
        self.conversation_id = None
        self._earlier = []
        self._prepared.clear()
        await self.transcript.remove_children()
        self.query_one(HeaderBar).set_title("")
        self._update_totals()
        self._show_empty_state(True)
        self.prompt.focus()

    def action_pick_model(self) -> None:
        from chat_tui.ui.screens.model_picker import ModelPickerScreen

        if not self._still_streaming():
            self.app.push_screen(ModelPickerScreen(self.engine))

    def action_help(self) -> None:
        from chat_tui.ui.screens.help import HelpScreen

        settings = getattr(self.app, "settings", None)
        self.app.push_screen(HelpScreen(getattr(settings, "keys", None)))

    def _last_answer(self) -> str | None:
        views = [v for v in self.transcript.query(AssistantMessageView) if v.body.text]
        return views[-1].body.text if views else None

    def _copy(self, text: str, what: str) -> None:
        # OSC 52: the terminal puts it on the clipboard, over SSH and in tmux too.
        # Sanitized: pasted into a shell, control characters from the model could
        # end bracketed paste (ESC [201~) and run what follows.
        self.app.copy_to_clipboard(sanitize(text))
        self.notify(
            f"Copied {what} ({len(text):,} characters). If nothing arrived, your terminal does not "
            "allow clipboard escapes (tmux: set -g set-clipboard on).",
            markup=False,
        )

    def action_copy_answer(self) -> None:
        text = self._last_answer()
        if text is None:
            self.notify("There is no answer to copy yet.", severity="warning")
        else:
            self._copy(text, "the last answer")

    def action_copy_code(self) -> None:
        from chat_tui.markdown_blocks import code_blocks

        blocks = code_blocks(self._last_answer() or "")
        if not blocks:
            self.notify("The last answer has no code block.", severity="warning")
        else:
            self._copy(blocks[-1], "the last code block")

    def action_copy_any(self) -> None:
        """Choose a message or a code block to copy."""
        from chat_tui.ui.screens.copy_picker import CopyChoice, CopyPickerScreen

        if self.conversation_id is None:
            self.notify("There is nothing to copy yet.", severity="warning")
            return
        messages = [m for m in self.engine.store.messages(self.conversation_id) if m.status != MessageStatus.SUPERSEDED]
        if self._streaming_view is not None:  # the streaming answer as far as it is on screen
            messages = [m for m in messages if m.id != self._streaming_view.message_id]

        def chosen(choice: CopyChoice | None) -> None:
            if choice is not None:
                self._copy(choice.text, choice.what)

        self.app.push_screen(CopyPickerScreen(messages), chosen)

    def action_open_conversations(self) -> None:
        from chat_tui.ui.screens.conversations import ConversationsScreen

        def opened(conversation_id: int | None) -> None:
            if conversation_id is not None and conversation_id != self.conversation_id:
                if self._streaming_view is not None:
                    self.workers.cancel_group(self, "turn")
                self.run_worker(self.load_conversation(conversation_id), group="load", exclusive=True)

        self.app.push_screen(ConversationsScreen(self.engine.store, current=self.conversation_id), opened)
