"""Markdown tables drawn by our fast path equal Rich's, segment for segment,
and everything the fast path does not take still goes to Rich."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.markdown import Markdown

import chat_tui.ui.table_render as table_render
from chat_tui.ui.markdown_document import ChatMarkdown

CELLS = ["a", "row", "**bold**", "`code`", "*it*", "x y z", "ünï", "日本", "😀", "[l](http://e.x)", "1.5",
         "~~s~~", "", "a longer cell of text", "\\| pipe", "&amp;", "<b>"]


def random_table(rng: random.Random) -> str:
    columns = rng.randint(1, 6)
    aligns = [rng.choice(["---", ":---", "---:", ":---:"]) for _ in range(columns)]
    head = "| " + " | ".join(rng.choice(CELLS[:-5]) for _ in range(columns)) + " |"
    rows = ["| " + " | ".join(rng.choice(CELLS) for _ in range(columns)) + " |" for _ in range(rng.randint(0, 8))]
    return head + "\n|" + "|".join(aligns) + "|\n" + "\n".join(rows) + "\n"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the fast path drew a table, and how often it left it to Rich."""
    counts = {"fast": 0, "rich": 0}
    original = table_render.table_lines

    def table_lines(*args):  # type: ignore[no-untyped-def]
        lines = original(*args)
        counts["rich" if lines is None else "fast"] += 1
        return lines

    monkeypatch.setattr(table_render, "table_lines", table_lines)
    return counts


@pytest.mark.parametrize("hyperlinks", [False, True])
def test_tables_equal_richs_segment_for_segment(counted: dict[str, int], hyperlinks: bool) -> None:
    console = Console(file=io.StringIO(), width=100, color_system="truecolor", force_terminal=True)
    rng = random.Random(5)
    for _ in range(200):
        text = random_table(rng)
        if rng.random() < 0.3:
            text = "Some text before.\n\n" + text + "\nAnd after."
        options = console.options.update(width=rng.choice([12, 30, 60, 100]), height=None)
        ours = console.render_lines(ChatMarkdown(text, hyperlinks=hyperlinks), options, pad=False, new_lines=False)
        rich = console.render_lines(Markdown(text, hyperlinks=hyperlinks), options, pad=False, new_lines=False)
        assert ours == rich, text
    # Both paths were taken: most tables fit, the narrow widths make some wrap.
    assert counted["fast"] > 100
    assert counted["rich"] > 20


def test_what_the_fast_path_leaves_to_rich(counted: dict[str, int]) -> None:
    console = Console(file=io.StringIO(), width=40, color_system="truecolor", force_terminal=True)
    options = console.options.update(width=40, height=None)
    too_wide = "| " + " | ".join(["a cell of some length"] * 3) + " |\n|---|---|---|\n| 1 | 2 | 3 |\n"
    empty_column = "| a | |\n|---|---|\n| 1 | |\n"
    for text in (too_wide, empty_column):
        ours = console.render_lines(ChatMarkdown(text), options)
        assert ours == console.render_lines(Markdown(text), options)
    assert counted == {"fast": 0, "rich": 2}
    ascii_only = options.copy()
    ascii_only.encoding = "ascii"  # a terminal that cannot show box characters: Rich substitutes them
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert console.render_lines(ChatMarkdown(text), ascii_only) == console.render_lines(Markdown(text), ascii_only)
    assert counted == {"fast": 0, "rich": 3}


def test_chat_markdown_sets_what_richs_markdown_sets() -> None:
    """ChatMarkdown shares one parser instead of building one per instance, so it
    sets Rich's attributes itself: the same names and values as Rich's own."""
    text = "# a\n\n| b |\n|---|\n| c |\n"
    for kwargs in ({}, {"code_theme": "ansi_dark", "hyperlinks": False}):
        ours, rich = vars(ChatMarkdown(text, **kwargs)), vars(Markdown(text, **kwargs))
        assert ours.keys() == rich.keys()
        assert {k: v for k, v in ours.items() if k != "parsed"} == {k: v for k, v in rich.items() if k != "parsed"}
        assert [t.as_dict() for t in ours["parsed"]] == [t.as_dict() for t in rich["parsed"]]
