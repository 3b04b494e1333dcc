"""Code blocks drawn straight from Pygments tokens.

Rich's `Syntax` spends most of a code block's time in its general text
machinery (spans, wrapping, padding), about 0.7 ms a line here. For the common
case (no tabs, every line fits the width), this builds the same cells directly
from the lexer's tokens, several times faster; anything else falls back to
Rich. A test checks, cell by cell, that both draw the same thing.
"""

from __future__ import annotations

from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax, SyntaxTheme

from chat_tui.ui.lexing import speed_up

Line = list[Segment]
TAB_SIZE = 4


@lru_cache(maxsize=64)
def lexer_for(name: str) -> Lexer:
    """The lexer Rich's `Syntax` would use for `name` ("text" when unknown)."""
    try:
        lexer = get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=TAB_SIZE)
    except ClassNotFound:
        lexer = get_lexer_by_name("text", stripnl=False, ensurenl=True, tabsize=TAB_SIZE)
    return speed_up(lexer)  # the same tokens, several times faster (see `lexing`)


@lru_cache(maxsize=8)
def theme_for(name: str) -> SyntaxTheme:
    return Syntax.get_theme(name)


class _Styles:
    """Token type -> the style Rich gives a cell of that token (background included)."""

    def __init__(self, theme: SyntaxTheme) -> None:
        self.theme = theme
        self.base = theme.get_background_style()
        self.known: dict[object, Style] = {}
        """The styles worked out so far (looked up directly in the hot loop)."""

    def __getitem__(self, token_type: object) -> Style:
        style = self.known.get(token_type)
        if style is None:
            style = self.known[token_type] = self.base + self.theme.get_style_for_token(token_type)  # type: ignore[arg-type]
        return style


@lru_cache(maxsize=8)
def _styles(theme_name: str) -> _Styles:
    return _Styles(theme_for(theme_name))


def _cells(text: str) -> int:
    """`cell_len(text)`, sooner for printable ASCII (a cell a character)."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


def code_lines(code: str, lexer_name: str, theme_name: str, width: int, *, padding: bool = True) -> list[Line] | None:
    """The lines of a highlighted code block `width` cells wide (with Rich's one
    cell of padding around it), or None when Rich must draw it (tabs, long lines)."""
    if "\t" in code:
        return None
    # Printable ASCII (the usual code): a character a cell, counted without a call per token.
    narrow = code.isascii() and code.replace("\n", "").isprintable()
    inner = width - 2
    styles = _styles(theme_name)
    base = styles.base
    known = styles.known
    lines: list[Line] = [[]]
    widths = [0]
    line = lines[0]
    used = 0
    for token_type, value in lexer_for(lexer_name).get_tokens(code):
        style = known.get(token_type)
        if style is None:
            style = styles[token_type]
        if "\n" not in value:  # most tokens: a piece of one line
            if value:
                line.append(Segment(value, style))
                used += len(value) if narrow else _cells(value)
            continue
        first = True
        for part in value.split("\n"):
            if not first:
                widths[-1] = used
                line = []
                lines.append(line)
                widths.append(0)
                used = 0
            first = False
            if part:
                line.append(Segment(part, style))
                used += len(part) if narrow else _cells(part)
    widths[-1] = used
    if not lines[-1] and not code.endswith("\n"):
        lines.pop()  # the newline the lexer adds at the end
        widths.pop()
    if any(w > inner for w in widths):
        return None
    edge = Segment(" ", base)
    out = [[edge, *segments, Segment(" " * (inner - used), base), edge] for segments, used in zip(lines, widths)]
    if padding:
        blank = [Segment(" " * width, base)]
        out = [blank, *out, list(blank)]
    return out
