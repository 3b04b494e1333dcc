"""What an answer shows from send until its first token: an animated
indicator and the time elapsed (or, before a retry, the seconds left).

It is drawn by the answer's own view (`MarkdownStreamView`), on the line the
first text then takes: the text replaces it without a layout of the screen.
"""

from __future__ import annotations

import time

from chat_tui.sanitize import sanitize

_FRAMES = ("●∙∙", "∙●∙", "∙∙●", "∙●∙")


class TypingIndicator:
    """The indicator's state: its label, when it (re)started, its frame."""

    animate = True
    """Turned off in snapshot tests so that they are deterministic."""
    INTERVAL = 0.2
    """Seconds between two frames of the animation."""

    def __init__(self, label: str = "Waiting for the model") -> None:
        self.label = label
        self._start = time.monotonic()
        self._frame = 0
        self._countdown: float | None = None

    def restart(self, label: str, countdown: float | None = None) -> None:
        """Show `label`; with `countdown`, the seconds left instead of the time elapsed."""
        self.label = label
        self._countdown = countdown
        self._start = time.monotonic()

    def tick(self) -> None:
        self._frame = (self._frame + 1) % len(_FRAMES)

    def parts(self) -> tuple[str, str]:
        """The animation's frame, and the text after it."""
        elapsed = time.monotonic() - self._start if self.animate else 0.0
        frame = _FRAMES[self._frame] if self.animate else _FRAMES[0]
        if self._countdown is not None:
            left = max(0.0, self._countdown - elapsed)
            status = f" — retrying in {left:.0f} s"
        else:
            status = f"… {elapsed:.1f} s"
        # The label may quote a server's error message (a retry countdown).
        return frame, "  " + sanitize(self.label) + status
