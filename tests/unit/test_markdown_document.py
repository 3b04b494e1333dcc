"""The streamed rendering ends exactly where a one-shot render of the full text
does, and mid-stream it renders unfinished Markdown sensibly."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.markdown import Markdown
from rich.style import Style

from chat_tui.providers.demo import CODE, LONG, TABLE, WELCOME, tokenize
from chat_tui.ui.markdown_document import CURSOR, ChatMarkdown, MarkdownDocument

WIDTH = 90


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), width=WIDTH, color_system="truecolor", force_terminal=True)


def generated(seed: int, blocks: int = 120) -> str:
    rng = random.Random(seed)
    parts = []
    for i in range(blocks):
        kind = rng.choice(["h", "p", "code", "table", "ul", "ol", "quote", "hr", "nested"])
        if kind == "h":
            parts.append("#" * rng.randint(1, 4) + f" Heading {i}")
        elif kind == "p":
            words = ["alpha", "**beta**", "`gamma`", "delta", "*eps*", "[link](http://x.y)", "ünï", "😀"]
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 80))))
        elif kind == "code":
            lang = rng.choice(["python", "js", "", "bash", "nosuchlang"])
            body = "\n".join(f"{'    ' * (j % 3)}x{j} = '{j}' * 2  # {j}" for j in range(rng.randint(1, 45)))
            if rng.random() < 0.3:
                body += '\n\n\ndef f():\n    """doc\n    string"""'
            parts.append(f"```{lang}\n{body}\n```")
        elif kind == "table":
            rows = "\n".join(f"| {j} | v{j} | **w** |" for j in range(rng.randint(1, 9)))
            parts.append("| a | b | c |\n|---|:---:|--:|\n" + rows)
        elif kind == "ul":
            parts.append("\n".join(f"- item {j} text" for j in range(rng.randint(1, 7))))
        elif kind == "ol":
            parts.append("\n".join(f"{j + 1}. step {j}" for j in range(rng.randint(1, 7))))
        elif kind == "quote":
            parts.append("> quoted text\n> more of it")
        elif kind == "nested":
            parts.append("- outer\n  - inner one\n  - inner two\n- outer again\n\n  continued paragraph")
        else:
            parts.append("---")
    return "\n\n".join(parts) + "\n"


def stream(console: Console, text: str, seed: int, *, cursor: bool = True) -> MarkdownDocument:
    document = MarkdownDocument()
    tokens = tokenize(text)
    rng = random.Random(seed)
    i = 0
    while i < len(tokens):
        n = rng.randint(1, 40)
        document.append("".join(tokens[i : i + n]))
        i += n
        document.render(console, WIDTH, cursor=cursor)
    document.render(console, WIDTH, final=True)
    return document


def lines(document: MarkdownDocument) -> list[list]:
    return [document.line(y) for y in range(document.height)]


@pytest.mark.parametrize("name,text", [("welcome", WELCOME), ("code", CODE), ("table", TABLE), ("long", LONG)]
                         + [(f"generated-{s}", generated(s)) for s in range(5)])
def test_streamed_render_equals_one_shot_render(console: Console, name: str, text: str) -> None:
    document = stream(console, text, seed=len(text))
    one_shot = console.render_lines(ChatMarkdown(text, code_theme="monokai", hyperlinks=False),
                                    console.options.update(width=WIDTH), pad=False, new_lines=False)
    assert lines(document) == one_shot
    assert document.text == text
    assert document.cursor_at is None


def cells(lines: list[list]) -> list[list[tuple[str, object]]]:
    """Each line as its cells: (character, style), an empty style being no style."""
    return [[(ch, segment.style or Style()) for segment in line for ch in segment.text] for line in lines]


@pytest.mark.parametrize("theme", ["monokai", "ansi_dark", "github-dark"])
def test_chat_markdown_draws_exactly_what_rich_draws(console: Console, theme: str) -> None:
    """Our Markdown draws code blocks itself (faster); every cell must match Rich's."""
    tricky = ("```python\n\n\nimport sys  # leading blank lines\n\n\tx = 1  # a tab\n```\n\n"
              "```js\n" + "x = " + "1 + " * 40 + "1;  // longer than the width\n```\n\n"
              "```bash\necho 日本語 ü — $HOME   \n```\n\n```\nno language\n```\n")
    options = console.options.update(width=WIDTH)
    for text in (CODE, WELCOME, generated(11, 40), tricky, "```nosuchlang\nx = 1\n```\n", "    indented\n    code\n"):
        ours = console.render_lines(ChatMarkdown(text, code_theme=theme), options)
        rich = console.render_lines(Markdown(text, code_theme=theme), options)
        assert cells(ours) == cells(rich)


def test_width_change_re_renders_everything(console: Console) -> None:
    text = generated(3, 30)
    document = stream(console, text, seed=1)
    document.render(console, 50, final=True)
    expected = console.render_lines(ChatMarkdown(text, code_theme="monokai", hyperlinks=False),
                                    console.options.update(width=50), pad=False, new_lines=False)
    assert lines(document) == expected


def plain(document: MarkdownDocument) -> str:
    return "\n".join("".join(s.text for s in line) for line in lines(document))


def test_open_code_fence_renders_as_code_with_cursor(console: Console) -> None:
    document = MarkdownDocument()
    document.append("Intro.\n\n```python\nimport sys\n\nfor line in sys.stdin:\n    print(li")
    document.render(console, WIDTH, cursor=True)
    shown = plain(document)
    assert "```" not in shown and "import sys" in shown
    assert CURSOR in shown and document.cursor_at is not None
    # The code lines sit in the code block's background, not as plain text.
    code_line = next(line for line in lines(document) if "import" in "".join(s.text for s in line))
    assert any(s.style is not None and s.style.bgcolor is not None for s in code_line)


def test_streaming_layout_of_a_code_block_matches_the_final_one(console: Console) -> None:
    """No jump when the block finishes: the same lines, only re-highlighted."""
    code = "```python\n" + "\n".join(f"value_{i} = compute({i})" for i in range(30)) + "\n```"
    document = MarkdownDocument()
    document.append(code[:-3])
    document.render(console, WIDTH)
    streaming = plain(document)
    document.append("```\n")
    document.render(console, WIDTH, final=True)
    assert plain(document) == streaming


def test_cursor_at_the_tip_and_gone_when_final(console: Console) -> None:
    document = MarkdownDocument()
    document.append("Hello **wor")
    document.render(console, WIDTH, cursor=True)
    assert CURSOR in plain(document)
    document.append("ld**")
    document.render(console, WIDTH, final=True)
    assert CURSOR not in plain(document) and "Hello world" in plain(document)


def test_finished_blocks_are_not_rendered_again(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each frame renders only the growing tail, so its cost does not grow with the answer."""
    document = MarkdownDocument()
    rendered: list[str] = []
    original = MarkdownDocument._render_text

    def spy(self, console, options, text, *args):  # type: ignore[no-untyped-def]
        rendered.append(text)
        return original(self, console, options, text, *args)

    monkeypatch.setattr(MarkdownDocument, "_render_text", spy)
    for i in range(200):
        document.append(f"Paragraph {i} with some words.\n\n")
        document.render(console, WIDTH, cursor=True)
    total = sum(len(t) for t in rendered)
    text_length = len(document.text)
    # Every paragraph is rendered about twice (as tail, then finished): linear, not quadratic.
    assert total < 4 * text_length


def test_a_table_header_does_not_flash_as_text_before_the_table_forms(console: Console) -> None:
    document = MarkdownDocument()
    document.append("Here is a table:\n\n| Algorithm | Best |\n")
    document.render(console, WIDTH, cursor=True)
    assert "|" not in plain(document) and "Here is a table:" in plain(document)
    document.append("| --- | --- |\n| Quicksort | O(n log n) |\n")
    document.render(console, WIDTH, cursor=True)
    shown = plain(document)
    assert "Algorithm" in shown and "Quicksort" in shown and "|" not in shown
    # Text with pipes that never becomes a table is shown once the stream ends.
    other = MarkdownDocument()
    other.append("a | b\n\n| not a table")
    other.render(console, WIDTH, cursor=True)
    assert "not a table" not in plain(other)
    other.render(console, WIDTH, final=True)
    assert "| not a table" in plain(other)


@pytest.mark.parametrize("text", [pytest.param(CODE, id="code"), pytest.param(LONG, id="long"),
                                  pytest.param(WELCOME, id="welcome")]
                         + [pytest.param(generated(s, blocks=40), id=f"generated-{s}") for s in range(3)])
def test_a_continued_answer_renders_as_if_it_had_never_stopped(console: Console, text: str) -> None:
    """Cut anywhere (inside a code block, a list, a word), rendered as final, then
    continued: the lines equal a one-shot render of the whole text."""
    one_shot = console.render_lines(ChatMarkdown(text, code_theme="monokai", hyperlinks=False),
                                    console.options.update(width=WIDTH), pad=False, new_lines=False)
    rng = random.Random(len(text))
    for cut in sorted(rng.sample(range(1, len(text)), 8)):
        document = stream(console, text[:cut], seed=cut)
        assert document.cursor_at is None
        document.reopen()
        rest = text[cut:]
        assert document.length == cut
        for i in range(0, len(rest), 37):
            document.append(rest[i : i + 37])
            document.render(console, WIDTH, cursor=True)
            assert document.length == len(document.text) == cut + min(i + 37, len(rest))
        document.render(console, WIDTH, final=True)
        assert document.text == text and document.length == len(text)
        assert lines(document) == one_shot, f"cut at {cut}: {text[max(0, cut - 20):cut]!r}|{text[cut:cut + 20]!r}"
        document.set_text("new")
        assert document.length == 3


def test_a_tail_seen_as_an_open_code_block_is_one_block_that_is_one() -> None:
    """Frames skip parsing a tail that starts with a code block not yet closed
    (it is the whole tail, and still growing): the parser agrees, for every cut
    of answers after each of their fences, with the cursor and without, and
    with fences it would not take as closing or opening ones."""
    from chat_tui.ui.markdown_document import _open_fence, _top_level_blocks

    odd = ("```python\nx = 1\n  ```\n````\n``` not a close\n~~~\n```\n\nText.\n\n~~~~ js\nx\n~~~~~\n\n"
           "``` a`b\nnot a fence\n```\n\n``\ninline\n``\n\n```\n    ```\n```\n\nEnd.\n")
    checked = 0
    for text in (CODE, WELCOME, odd, *(generated(s, 60) for s in range(3))):
        starts = [i for i in range(len(text)) if text.startswith(("```", "~~~"), i) and (i == 0 or text[i - 1] == "\n")]
        for start in starts:
            for end in range(start + 3, min(len(text), start + 400) + 1):
                tail = text[start:end]
                if _open_fence(tail) is None:
                    continue
                checked += 1
                for shown in (tail, tail + CURSOR):
                    blocks = _top_level_blocks(shown)
                    assert [kind for _, kind in blocks] == ["fence"], (tail, blocks)
    assert checked > 500


def test_one_line_is_one_top_level_block_at_most() -> None:
    """Frames skip looking for finished blocks in a tail of one line (a
    paragraph so far): the parser agrees, for every piece of one line."""
    from chat_tui.ui.markdown_document import _top_level_blocks

    checked = 0
    for text in (CODE, WELCOME, TABLE, generated(3, 60), "# a\n---\n> b\n- c\n1. d\n    e\n| f |\n***\n<div>\n"):
        for line in text.split("\n"):
            for start in range(0, len(line), 7):
                for piece in (line[start:], "\n\n" + line[start:] + "\n\n", line[start:] + CURSOR):
                    checked += 1
                    assert len(_top_level_blocks(piece)) <= 1, piece
    assert checked > 1000


def test_a_frame_of_a_growing_paragraph_parses_its_text_once(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    """One parse per frame for a paragraph arriving after finished blocks: the
    render's (no search for finished blocks in one line, and the first block's
    kind taken from the render's parse)."""
    import chat_tui.ui.markdown_document as module

    document = MarkdownDocument()
    document.append("# Title\n\nA first paragraph.\n\n")
    document.render(console, WIDTH, cursor=True)
    document.append("A second one")
    document.render(console, WIDTH, cursor=True)  # the first paragraph is finished
    parses: list[str] = []
    for parser in (module._PARSER, module._RICH_PARSER):
        original = parser.parse
        monkeypatch.setattr(parser, "parse", lambda text, env=None, original=original: parses.append(text)
                            or original(text, env))
    for word in " that grows word by word, with **bold** and `code`, over several frames".split(" "):
        document.append(" " + word)
        document.render(console, WIDTH, cursor=True)
        assert len(parses) == 1, parses
        parses.clear()
    document.render(console, WIDTH, final=True)
    assert lines(document) == console.render_lines(
        ChatMarkdown(document.text, code_theme="monokai", hyperlinks=False), console.options.update(width=WIDTH),
        pad=False, new_lines=False)


def test_a_fence_whose_language_is_still_arriving_looks_up_no_lexer_with_the_cursor(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chat_tui.ui.code_render as code_render

    names: list[str] = []
    original = code_render.lexer_for

    def spy(name: str):  # type: ignore[no-untyped-def]
        names.append(name)
        return original(name)

    monkeypatch.setattr(code_render, "lexer_for", spy)
    document = MarkdownDocument()
    for piece in ["Intro.\n\n", "```", "py", "th", "on", "\nx = 1\n", "```\n"]:
        document.append(piece)
        document.render(console, WIDTH, cursor=True)
    assert names and all(CURSOR not in name for name in names)
    assert "python" in names


@pytest.mark.parametrize(
    "code", ["plain = 'ascii'", "bell = '\x07'; esc = '\x1b'", "wide = '日本語 ü'", "x\n\ny = 2\n"]
)
def test_code_lines_are_exactly_as_wide_as_the_block(code: str) -> None:
    """Widths are counted as Rich counts cells (a printable ASCII token by its
    length, anything else by `cell_len`): every line fills the block exactly."""
    from rich.cells import cell_len

    from chat_tui.ui.code_render import code_lines

    lines = code_lines(code, "python", "monokai", 40)
    assert lines is not None
    assert all(sum(cell_len(segment.text) for segment in line) == 40 for line in lines)


FENCES = [
    "```python title=x.py\nx = 1\n\n\n```",  # more words after the language, blank lines at the end
    "~~~js\nlet a = 1;\n~~~",
    "  ```python\n  indented_fence = 1\n    deeper = 2\n  ```",
    "````\n```\nfour backticks around three\n```\n````",
    "```\n```",  # empty
    "```python\n\n\nleading = 'blank lines'\n```",
    "    an indented\n    code block",
    "```bash\necho 日本語 ü — $HOME   \n```",
    "```nosuchlang\nx = 1\n```",
    "```python\n" + "x = " + "1 + " * 40 + "1  # longer than the width\n```",
    "```python\n\tx = 1  # a tab\n```",
]


@pytest.mark.parametrize("final", ["closed", "open at the end"])
def test_code_blocks_of_every_shape_end_as_rich_draws_them(console: Console, final: str) -> None:
    """A finished code block is drawn straight from the highlighter, not through
    Rich's Markdown: the same cells as Rich's, whatever the fence looks like."""
    text = "Some text.\n\n" + "\n\nA paragraph between.\n\n".join(FENCES)
    if final != "closed":
        text += "\n\n```python\nnot_closed = True\nsecond_line = 2\n"
    document = stream(console, text, seed=5)
    rich = console.render_lines(Markdown(text, code_theme="monokai", hyperlinks=False),
                                console.options.update(width=WIDTH), pad=False, new_lines=False)
    assert cells(lines(document)) == cells(rich)
    document.render(console, 50, final=True)  # and at another width
    rich = console.render_lines(Markdown(text, code_theme="monokai", hyperlinks=False),
                                console.options.update(width=50), pad=False, new_lines=False)
    assert cells(lines(document)) == cells(rich)


TRICKY_MARKDOWN = [
    "- a\n- b\n\n  still b\n- c\n\nafter the list",
    "- tight\n- list\n\nparagraph\n\n1. one\n2. two\n\n\n3. three loose",
    "> quote\nlazy continuation\n\n> another\n>\n> - list in quote\n\ntext",
    "para\n# heading right after\npara\n---\nsetext above\n===\n\n***\n\n    indented code\n\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\nrow without pipes\n\nafter *the* table",
    "<div>\nhtml block\n</div>\n\n<!-- comment -->\ntext with <b>inline html</b> and \\*escapes\\* &amp; entities",
    "~~~python\nx = 1\n~~~\n```\nno closing fence",
    "text with [link](http://a.b \"title\") and ![image *alt*](x.png) and <http://auto.link>\n\nhard  \nbreak",
    "1) paren list\n2) more\n\n* star\n+ plus\n\n10. ten\n11. eleven",
]


@pytest.mark.parametrize(
    "text", [generated(seed, blocks=40) for seed in range(4)] + TRICKY_MARKDOWN + [LONG, TABLE, CODE]
)
def test_a_blocks_tokens_from_the_whole_texts_parse_are_its_own(text: str) -> None:
    """A finished block's structure comes from the parse of the text it was in
    (only its inline content is parsed again): the tokens are the ones Rich's
    parser makes of the block alone, but for line numbers."""
    from chat_tui.ui.markdown_document import _RICH_PARSER, _line_offsets, _parse_blocks, parse_inline

    def shape(tokens):  # type: ignore[no-untyped-def]
        return [(t.type, t.tag, t.nesting, t.level, t.content, t.markup, t.info, t.meta, t.block, t.hidden,
                 dict(t.attrs), shape(t.children) if t.children is not None else None) for t in tokens]

    tokens, references, blocks = _parse_blocks(text)
    assert not references and len(blocks) > 1
    offsets = _line_offsets(text)
    for index, (first, line, _kind) in enumerate(blocks):
        last = blocks[index + 1][0] if index + 1 < len(blocks) else len(tokens)
        end = offsets[blocks[index + 1][1]] if index + 1 < len(blocks) else len(text)
        block = text[offsets[line] if index else 0 : end]
        assert shape(parse_inline(block, tokens[first:last])) == shape(_RICH_PARSER.parse(block))


def test_a_link_reference_is_resolved_as_when_each_block_is_parsed_alone(console: Console) -> None:
    """A reference definition makes no tokens of its own: it belongs to the span of
    the block before it, which is parsed anew with it (the tail's block tokens,
    parsed without it, would leave the link unresolved)."""
    first = "See [the docs][d] here.\n\n[d]: http://example.com\n\n"
    document = MarkdownDocument()
    document.append(first + "More text.\n")
    document.render(console, WIDTH, final=True)
    expected = console.render_lines(ChatMarkdown(first, hyperlinks=False), console.options.update(width=WIDTH),
                                    pad=False, new_lines=False)
    assert "http://example.com" in "".join(s.text for s in expected[0])
    assert [document.line(y) for y in range(len(expected))] == expected
