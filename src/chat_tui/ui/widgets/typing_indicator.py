"""Shown from send until the first token: an animated indicator and the elapsed time."""

from __future__ import annotations

import time

from textual.content import Content
from textual.widgets import Static

from chat_tui.sanitize import sanitize

_FRAMES = ("●∙∙", "∙●∙", "∙∙●", "∙●∙")


class TypingIndicator(Static):
    DEFAULT_CSS = """
    TypingIndicator {
        height: 1;
        color: $text-muted;
    }
    """
    animate = True
    """Turned off in snapshot tests so that they are deterministic."""

    def __init__(self, label: str = "Waiting for the model", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self._start = time.monotonic()
        self._frame = 0
        self._countdown: float | None = None

    def on_mount(self) -> None:
        self._tick()
        if self.animate:
            self.set_interval(0.2, self._tick)

    def restart(self, label: str, countdown: float | None = None) -> None:
        """Show `label`; with `countdown`, the seconds left instead of the time elapsed."""
        self.label = label
        self._countdown = countdown
        self._start = time.monotonic()
        self._tick()

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._start if self.animate else 0.0
        self._frame = (self._frame + 1) % len(_FRAMES) if self.animate else 0
        if self._countdown is not None:
            left = max(0.0, self._countdown - elapsed)
            status = f" — retrying in {left:.0f} s"
        else:
            status = f"… {elapsed:.1f} s"
        # The label may quote a server's error message (a retry countdown).
        self.update(Content.assemble((_FRAMES[self._frame], "$accent"), "  ", sanitize(self.label), status))
