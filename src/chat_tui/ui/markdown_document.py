"""Streaming Markdown that costs the same per frame at token 20,000 as at token 20.

Why not Textual's `Markdown` widget: it builds a widget tree per block and
re-parses the document as it grows (170+ ms of CPU per 1,000 tokens here, more
as the answer grows). This renders with Rich instead, in two parts:

* **finished blocks**: once a later top-level block has started, a block can no
  longer change. It is rendered once, at the current width, and its lines are
  kept (re-rendered only when the width changes);
* **the tail**: the last, still growing block, re-rendered each frame.

Rich separates top-level elements by one blank line (none after a horizontal
rule, which draws its own), and that is how chunks are joined, so the final
lines equal a one-shot `rich.markdown.Markdown` render of the whole text (a
test checks this on long answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.segment import Segment
from rich.syntax import Syntax

from chat_tui.ui.code_render import code_lines, lexer_for, theme_for
from chat_tui.ui.huge_text import HUGE_LINE, is_huge, plain_lines
from chat_tui.ui.table_render import FastTableElement

CURSOR = "▋"

Line = list[Segment]

# The same parser Rich uses, for block structure only (inline parsing is not needed).
_PARSER = MarkdownIt().enable("strikethrough").enable("table")
_PARSER.core.ruler.disable(["inline", "text_join"])

_FENCE_OPEN = re.compile(r"(`{3,}|~{3,})([^\n]*)\n")


def make_syntax(code: str, lexer_name: str, theme: str, padding: int | tuple[int, int]) -> Syntax:
    """Rich's `Syntax` as Rich's code block makes it, with the lexer and theme
    looked up once (Rich looks them up again for every block)."""
    return Syntax(code, lexer_for(lexer_name), theme=theme_for(theme), word_wrap=True, padding=padding)


class _CodeBlock(CodeBlock):
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        # A fence whose info string is still arriving has the cursor after it:
        # each such name would be looked up (in vain, scanning the installed
        # lexer plugins, ~10 ms) as it grows.
        lexer_name = self.lexer_name.replace(CURSOR, "") or "text"
        lines = code_lines(code, lexer_name, self.theme, options.max_width)
        if lines is None:
            yield make_syntax(code, lexer_name, self.theme, 1)
            return
        new_line = Segment.line()
        for line in lines:
            yield from line
            yield new_line


def warm_up(console: Console) -> None:
    """Load the parser, the highlighter and a lexer before the first answer needs them."""
    document = MarkdownDocument()
    document.append("# a\n\n- b\n\n| c | d |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n")
    document.render(console, 40, final=True)


# The parser Rich's `Markdown` builds for every instance (about 1 ms each, and
# an answer is rendered block by block): one, shared (parsing keeps no state in it).
_RICH_PARSER = MarkdownIt().enable("strikethrough").enable("table")


# The core rules Rich's parser runs after the block structure is known (inline
# parsing, then joining text): what a block's tokens from `_PARSER` still need.
_AFTER_BLOCKS = _RICH_PARSER.core.ruler.getRules("")[_RICH_PARSER.core.ruler.get_active_rules().index("block") + 1 :]


def parse_inline(markup: str, block_tokens: list[Token]) -> list[Token]:
    """The tokens Rich's parser makes of `markup`, from the block tokens `_PARSER`
    made of it (maybe as part of a longer text: a top-level block's tokens are
    the same either way, but for their line numbers, which rendering does not
    use; a test compares them). Link reference definitions elsewhere in the
    longer text are not seen (the caller parses such a text anew)."""
    state = StateCore(markup, _RICH_PARSER, {})
    state.tokens = block_tokens
    for rule in _AFTER_BLOCKS:
        rule(state)
    return state.tokens


class ChatMarkdown(Markdown):
    """Rich's Markdown, with code blocks and tables drawn by faster paths
    (the same cells; tests compare them with Rich's) and one shared parser."""

    elements = {**Markdown.elements, "fence": _CodeBlock, "code_block": _CodeBlock, "table_open": FastTableElement}

    def __init__(
        self, markup: str, code_theme: str = "monokai", hyperlinks: bool = True, *, parsed: list[Token] | None = None
    ) -> None:
        """`parsed`: `markup`'s tokens, when they are known already (`parse_inline`)."""
        # What `Markdown.__init__` sets (a test checks they stay the same), with the shared parser.
        self.markup = markup
        self.parsed = _RICH_PARSER.parse(markup) if parsed is None else parsed
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


# Rich puts a blank line before a container (list, table, quote) whatever came
# before it, even at the very start; before a leaf block only if the previous
# block was not a horizontal rule.
_CONTAINERS = frozenset({"bullet_list_open", "ordered_list_open", "table_open", "blockquote_open"})


def gap_between(previous_type: str, next_type: str) -> bool:
    """Whether Rich leaves a blank line of its own between two top-level blocks
    rendered apart (a container brings its own, a rule needs none after it)."""
    return next_type not in _CONTAINERS and previous_type != "hr"


def top_level_types(text: str) -> list[str]:
    """The token type of each top-level block of `text` ("paragraph_open", "hr", ...)."""
    return [kind for _, kind in _top_level_blocks(text)]


@dataclass(slots=True)
class _OpenFence:
    """Rendered pieces of a code block that is still streaming."""

    key: tuple[int, str, int]
    lexer: str
    frozen: int = 0
    lines: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class _Chunk:
    text: str
    first_type: str
    last_type: str
    lines: list[Line]
    code: tuple[str, str] | None = None
    """(lexer name, code) when the block is a code block (drawn without Rich's Markdown)."""

    def needs_gap_after(self, next_first_type: str) -> bool:
        return gap_between(self.last_type, next_first_type)


def _top_level_blocks(text: str) -> list[tuple[int, str]]:
    """(start line, token type) of each top-level block of `text`."""
    return [(start, kind) for start, kind, _ in _top_level_tokens(text)]


def _top_level_tokens(text: str) -> list[tuple[int, str, Token]]:
    """(start line, token type, token) of each top-level block of `text`."""
    return [(start, kind, token) for start, kind, token in _top_level_with_tokens(_PARSER.parse(text))]


def _parse_blocks(text: str) -> tuple[list[Token], bool, list[tuple[int, int, str]]]:
    """`text`'s block tokens, whether it defines link references, and (index of
    its first token, start line, token type) of each top-level block."""
    env: dict = {}
    tokens = _PARSER.parse(text, env)
    blocks = [(index, token.map[0], token.type) for index, token in enumerate(tokens) if _starts_block(token)]  # type: ignore[index]
    return tokens, bool(env.get("references")), blocks


def _top_level_of(parsed: list[Token]) -> list[tuple[int, str]]:
    """`_top_level_blocks` of a text already parsed (by Rich's parser, inline included)."""
    return [(start, kind) for start, kind, _ in _top_level_with_tokens(parsed)]


def _starts_block(token: Token) -> bool:
    """`token` opens a top-level block (or is one, as a fence or a rule is)."""
    return token.level == 0 and token.nesting in (0, 1) and token.map is not None


def _top_level_with_tokens(parsed: list[Token]) -> list[tuple[int, str, Token]]:
    return [(token.map[0], token.type, token) for token in parsed if _starts_block(token)]  # type: ignore[index]


def _code_of(token: Token) -> tuple[str, str] | None:
    """(lexer name, code) of a code block, as Rich's Markdown takes them from its token."""
    if token.type not in ("fence", "code_block"):
        return None
    return (token.info or "").partition(" ")[0] or "text", token.content


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    find = text.find
    pos = find("\n")
    while pos != -1:
        offsets.append(pos + 1)
        pos = find("\n", pos + 1)
    return offsets


class MarkdownDocument:
    """The text of one streaming answer and its rendered lines."""

    def __init__(self, *, code_theme: str = "monokai", hyperlinks: bool = False) -> None:
        self._chunks: list[_Chunk] = []
        self._lines: list[Line] = []  # all finished chunks' lines, joined
        self._tail = ""
        self._finished_chars = 0
        self._tail_lines: list[Line] = []
        self._width = 0
        self._code_theme = code_theme
        self._hyperlinks = hyperlinks
        self._fence: _OpenFence | None = None
        self._pads: dict[tuple[str, int], tuple[Line, Line]] = {}
        self._tail_types: list[str] | None = None
        """The top-level block types of the tail, if the last `_finish_blocks` parsed it."""
        self._parsed: list[Token] | None = None
        """The tokens of the text `_render_text` rendered last (None if it was not parsed)."""
        self.cursor_at: tuple[int, int] | None = None
        """(line, cell) of the cursor in the last render, if it was drawn."""

    @property
    def text(self) -> str:
        return "".join(c.text for c in self._chunks) + self._tail

    @property
    def length(self) -> int:
        """`len(self.text)`, without joining the text."""
        return self._finished_chars + len(self._tail)

    def append(self, text: str) -> None:
        self._tail += text

    def set_text(self, text: str) -> None:
        self._chunks.clear()
        self._lines.clear()
        self._finished_chars = 0
        self._tail = text

    def reopen(self) -> None:
        """The text goes on after a final render (a cut-off answer is continued):
        its last block is open again, since what follows may extend it (the rest
        of a code block, a list, a paragraph). Earlier blocks stay rendered."""
        self._fence = None
        if not self._chunks or self._tail:
            return
        last = self._chunks.pop()
        self._finished_chars -= len(last.text)
        self._tail = last.text
        del self._lines[len(self._lines) - len(last.lines):]
        if self._chunks and self._chunks[-1].needs_gap_after(last.first_type):
            self._lines.pop()  # the blank line that separated it from the block before

    @property
    def finished_line_count(self) -> int:
        return len(self._lines)

    def line(self, y: int) -> Line:
        if y < len(self._lines):
            return self._lines[y]
        y -= len(self._lines)
        return self._tail_lines[y] if 0 <= y < len(self._tail_lines) else []

    @property
    def height(self) -> int:
        return len(self._lines) + len(self._tail_lines)

    # -- rendering ------------------------------------------------------------------
    def render(self, console: Console, width: int, *, cursor: bool = False, final: bool = False) -> None:
        """Bring the rendered lines up to date at `width`.

        `final`: the stream has ended; the whole tail is finished.
        """
        width = max(1, width)
        options = console.options.update(width=width, height=None)
        if width != self._width:
            self._width = width
            self._lines = []
            previous: _Chunk | None = None
            for chunk in self._chunks:
                chunk.lines = self._render_block(console, options, chunk.text, chunk.code)
                if previous is not None and previous.needs_gap_after(chunk.first_type):
                    self._lines.append([])
                self._lines.extend(chunk.lines)
                previous = chunk
        self._finish_blocks(console, options, final=final)
        self._render_tail(console, options, cursor=cursor and not final)

    def prepare(self, console: Console, width: int, blocks: int = 1) -> bool:
        """Render up to `blocks` more blocks of a finished text at `width`, ahead
        of time (a saved answer about to be scrolled to); True once all are.
        A later `render(..., final=True)` at the same width only draws what is left."""
        width = max(1, width)
        if width != self._width:
            if self._chunks:
                return False  # rendered at another width: `render` redoes it
            self._width = width
        options = console.options.update(width=width, height=None)
        self._finish_blocks(console, options, final=True, limit=blocks)
        return not self._tail.strip()

    def _render_block(
        self, console: Console, options: ConsoleOptions, text: str, code: tuple[str, str] | None,
        block_tokens: list[Token] | None = None,
    ) -> list[Line]:
        """The lines of one top-level block; a code block's straight from the
        highlighter (what Rich's Markdown would do around it, parsing the block
        again and walking its tokens, cost a third as much again). `block_tokens`:
        the block's tokens from `_PARSER`, if known (its block structure is not
        parsed again)."""
        if code is not None and not is_huge(text):
            lexer_name, source = code
            lines = code_lines(source.rstrip(), lexer_name, self._code_theme, options.max_width)
            if lines is not None:
                return lines
        return self._render_text(console, options, text, block_tokens)

    def _render_text(
        self, console: Console, options: ConsoleOptions, text: str, block_tokens: list[Token] | None = None
    ) -> list[Line]:
        self._parsed = None
        if is_huge(text):
            return plain_lines(text, options.max_width)
        parsed = None if block_tokens is None else parse_inline(text, block_tokens)
        markdown = ChatMarkdown(text, code_theme=self._code_theme, hyperlinks=self._hyperlinks, parsed=parsed)
        self._parsed = markdown.parsed
        return console.render_lines(markdown, options, pad=False, new_lines=False)

    def _finish_blocks(
        self, console: Console, options: ConsoleOptions, *, final: bool, limit: int | None = None
    ) -> None:
        tail = self._tail
        self._tail_types = None
        if not tail.strip():
            return
        if not final and limit is None:
            if "\n" not in tail.strip():
                return  # one line (a paragraph so far, say) is one block at most: nothing is finished
            if _open_fence(tail) is not None:
                return  # an unclosed code block at the start: the whole tail is that one block
        tokens, references, blocks = _parse_blocks(tail)
        keep = len(blocks) if final else len(blocks) - 1
        if limit is not None:
            keep = min(keep, limit)
        # The top-level blocks of what stays in the tail, as this parse found them.
        self._tail_types = [kind for _, _, kind in blocks[max(0, keep) :]]
        if keep <= 0:
            return
        offsets = _line_offsets(tail)
        for index in range(keep):
            first, start_line, kind = blocks[index]
            last = len(tokens) if index + 1 >= len(blocks) else blocks[index + 1][0]
            end = len(tail) if index + 1 >= len(blocks) else offsets[blocks[index + 1][1]]
            start = offsets[start_line] if index else 0
            text = tail[start:end]
            code = _code_of(tokens[first])
            # The block's structure is known from this parse: only its inline
            # content is parsed again (unless a link reference defined elsewhere
            # in the tail could change it).
            block_tokens = None if references else tokens[first:last]
            chunk = _Chunk(text, kind, kind, self._render_block(console, options, text, code, block_tokens), code)
            if self._chunks and self._chunks[-1].needs_gap_after(kind):
                self._lines.append([])
            self._chunks.append(chunk)
            self._finished_chars += len(text)
            self._lines.extend(chunk.lines)
        self._tail = "" if keep == len(blocks) else tail[offsets[blocks[keep][1]]:]

    def _render_tail(self, console: Console, options: ConsoleOptions, *, cursor: bool) -> None:
        self.cursor_at = None
        tail = self._tail
        text = tail + CURSOR if cursor else tail
        if not tail.strip():
            # Nothing to draw yet; before the first text the typing indicator speaks.
            self._tail_lines = [[Segment(CURSOR)]] if cursor and self._chunks else []
            if self._tail_lines:
                self.cursor_at = (0, 0)
            return
        lines = self._render_open_fence(console, options, cursor)
        first_type = "fence" if lines is not None else None
        parsed = None
        if lines is None:
            self._fence = None
            shown = _hold_back_table_start(tail, self._tail_types)
            lines = self._render_text(console, options, shown + CURSOR if cursor else shown) if shown.strip() else (
                [[Segment(CURSOR)]] if cursor else [])
            if shown is tail and shown.strip():
                parsed = self._parsed  # the text just rendered: its blocks are the tail's
        if self._chunks:
            if first_type is None:
                first = _top_level_blocks(text) if parsed is None else _top_level_of(parsed)
                first_type = first[0][1] if first else None
            if first_type is not None and self._chunks[-1].needs_gap_after(first_type):
                lines.insert(0, [])
        self._tail_lines = lines
        if cursor:
            self.cursor_at = _find_cursor(lines)


    def _render_open_fence(self, console: Console, options: ConsoleOptions, cursor: bool) -> list[Line] | None:
        """Lines for a tail that is an unclosed fenced code block, or None.

        Rendered like Rich's code block (`Syntax`, padding 1, word wrap) but
        line by line: each finished line is rendered once, and only the growing
        last line per frame. While it streams, each line is highlighted on its
        own (a multi-line string may be coloured wrongly for a moment); the
        block is rendered again as a whole once it is finished, with the same
        layout.
        """
        tail = self._tail
        match = _open_fence(tail)
        if match is None:
            return None
        lexer = match.group(2).strip().partition(" ")[0] or "text"
        key = (len(self._chunks), match.group(0), options.max_width)
        state = self._fence
        if state is None or state.key != key:
            state = self._fence = _OpenFence(key, lexer)
        code_lines = tail[match.end():].split("\n")
        top, bottom = self._pad_lines(console, options, lexer)
        for line in code_lines[state.frozen:-1]:
            # A blank code line looks exactly like the padding line.
            state.lines.extend(self._syntax_lines(console, options, line, lexer) if line.strip() else [top])
        state.frozen = len(code_lines) - 1
        rest = code_lines[-1] + (CURSOR if cursor else "")
        body = self._syntax_lines(console, options, rest, lexer) if rest.strip() else []
        return [top, *state.lines, *body, bottom]

    def _syntax_lines(self, console: Console, options: ConsoleOptions, code: str, lexer: str) -> list[Line]:
        if len(code) > HUGE_LINE:
            return plain_lines(code, options.max_width)
        fast = code_lines(code, lexer, self._code_theme, options.max_width, padding=False)
        if fast is not None:
            return fast
        syntax = make_syntax(code, lexer, self._code_theme, (0, 1))
        return console.render_lines(syntax, options, pad=False, new_lines=False)

    def _pad_lines(self, console: Console, options: ConsoleOptions, lexer: str) -> tuple[Line, Line]:
        key = (lexer, options.max_width)
        pads = self._pads.get(key)
        if pads is None:
            lines = code_lines("x", lexer, self._code_theme, options.max_width)
            if lines is None:
                lines = console.render_lines(make_syntax("x", lexer, self._code_theme, 1), options, pad=False,
                                             new_lines=False)
            pads = self._pads[key] = (lines[0], lines[-1])
        return pads


def _open_fence(tail: str) -> re.Match[str] | None:
    """The opening line of the fenced code block `tail` starts with, if the
    block is not closed yet (then all of `tail` is that block)."""
    match = _FENCE_OPEN.match(tail)
    if match is None:
        return None
    fence, info = match.group(1), match.group(2)
    if fence[0] == "`" and "`" in info:
        return None
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
    if closing.search(tail, match.end()):
        return None
    return match


def _hold_back_table_start(tail: str, types: list[str] | None = None) -> str:
    """`tail` without trailing lines that look like the start of a table not yet
    recognised as one (its header row before the delimiter row arrived): shown
    as text they would flash "| a | b |" until the table forms."""
    lines = tail.rstrip("\n").split("\n")
    keep = len(lines)
    while keep and lines[keep - 1].lstrip().startswith("|"):
        keep -= 1
    if keep == len(lines) or "table_open" in (top_level_types(tail) if types is None else types):
        return tail
    return "\n".join(lines[:keep])


def _find_cursor(lines: list[Line]) -> tuple[int, int] | None:
    for y in range(len(lines) - 1, max(-1, len(lines) - 40), -1):
        cell = 0
        for segment in lines[y]:
            index = segment.text.find(CURSOR)
            if index != -1:
                return y, cell + index
            cell += len(segment.text)
    return None
