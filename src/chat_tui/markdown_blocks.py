"""Split streaming Markdown into finished blocks and the growing tail.

A block is finished once a blank line follows it outside a fenced code block
(or the fence that opened it is closed and followed by a blank line). Finished
blocks never change again, so a renderer can render each once and keep it;
only the tail is re-rendered as text arrives.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_blocks(text: str) -> tuple[int, list[str]]:
    """Return (end, blocks): `text[:end]` holds the finished `blocks` (and the
    blank lines between them); `text[end:]` is the tail, still growing."""
    blocks: list[str] = []
    start = end = pos = 0
    fence: str | None = None
    in_block = False
    while (newline := text.find("\n", pos)) != -1:
        line = text[pos:newline]
        next_pos = newline + 1
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
        elif match := _FENCE.match(line):
            fence = match.group(1)
            if not in_block:
                start, in_block = pos, True
        elif not line.strip():
            if in_block:
                blocks.append(text[start:pos])
                in_block = False
            end = next_pos
        elif not in_block:
            start, in_block = pos, True
        pos = next_pos
    return end, blocks


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced and indented code blocks of `markdown`."""
    return [content for _, content in code_blocks_with_language(markdown)]


def code_blocks_with_language(markdown: str) -> list[tuple[str, str]]:
    """(language, content) of each code block of `markdown` ("" when none is given)."""
    from markdown_it import MarkdownIt  # loaded only when asked

    return [((t.info or "").strip().split(" ")[0], t.content)
            for t in MarkdownIt().parse(markdown) if t.type in ("fence", "code_block")]
