"""The Textual app: it only renders and dispatches keys."""

import os

# Textual sends changed widgets to the terminal at most this many times a
# second, so a change waits up to one period before it shows (17 ms at
# Textual's default of 60): the first token of an answer reached the screen
# 20-25 ms after its bytes. How often the answer itself is drawn is paced by
# `MarkdownStreamView` (at most 36 frames/s by default), so a shorter period
# only shortens that wait. Set before Textual is imported; the environment
# variable, when set, wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
