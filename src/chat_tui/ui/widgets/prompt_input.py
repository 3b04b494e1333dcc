"""The multi-line prompt: Enter sends, Ctrl+J (or Shift/Alt+Enter) inserts a newline,
Up in an empty prompt recalls the last message."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.strip import Strip
from textual.widgets import TextArea


class PromptInput(TextArea):
    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 12;
    }
    """
    NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter", "ctrl+enter"})

    cursor_blink: Reactive[bool] = reactive(True, init=False, repaint=False)
    """TextArea's, without the repaint of the whole prompt at each change (~2 ms
    here, at an answer's start and end, when the prompt's blink is paused for the
    answer's cursor): the cursor's own line is repainted if it shows or hides."""

    _theme_css_applied = False

    def render_lines(self, crop: Region) -> list[Strip]:
        # TextArea applies its theme's CSS at every screen update that reaches
        # the prompt (each frame of a growing answer scrolls the screen), although
        # Textual keeps the drawn lines and mostly draws none: once per update,
        # and only when a line is drawn (`render_line` reads the theme).
        self._theme_css_applied = False
        return super(TextArea, self).render_lines(crop)  # (not TextArea's, which applies it)

    def render_line(self, y: int) -> Strip:
        if not self._theme_css_applied and self._theme:
            self._theme.apply_css(self)
            self._theme_css_applied = True
        return super().render_line(y)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._theme_css_applied = False

    @dataclass
    class Submitted(Message):
        prompt_input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.prompt_input

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=True)
        self.sent: list[str] = []
        self.placeholder = "Ask anything · Enter to send · Ctrl+J for a new line"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.post_message(self.Submitted(self, text))
            return
        if event.key in self.NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and not self.text and self.sent:
            event.stop()
            event.prevent_default()
            self.load_text(self.sent[-1])
            self.move_cursor(self.document.end)
            return
        await super()._on_key(event)
