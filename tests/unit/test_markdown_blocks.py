"""Streaming Markdown split into finished blocks and the growing tail."""

from __future__ import annotations

from chat_tui.markdown_blocks import split_blocks

DOCUMENT = """# Title

First paragraph,
on two lines.

- a list
- of items

```python
def f():

    return 1
```

~~~
tilde fence with ``` inside

~~~

Text right before a fence
```
code in the same block

```

| a | b |
| - | - |
| 1 | 2 |

Last paragraph, still growing"""


def test_nothing_finished_without_a_blank_line() -> None:
    assert split_blocks("") == (0, [])
    assert split_blocks("Hello, wor") == (0, [])
    assert split_blocks("one line\nsecond line\n") == (0, [])


def test_a_blank_line_finishes_a_block() -> None:
    text = "para one\n\npara tw"
    end, blocks = split_blocks(text)
    assert blocks == ["para one\n"]
    assert end == len("para one\n\n")
    assert text[end:] == "para tw"


def test_blank_line_at_the_very_end_needs_its_newline() -> None:
    assert split_blocks("para\n")[1] == []
    assert split_blocks("para\n\n") == (6, ["para\n"])
    assert split_blocks("para\n   \n") == (9, ["para\n"])


def test_blank_lines_inside_an_open_fence_do_not_finish_it() -> None:
    text = "```python\ndef f():\n\n    return 1\n\n"
    assert split_blocks(text) == (0, [])
    closed = text + "```\n\nnext"
    end, blocks = split_blocks(closed)
    assert blocks == ["```python\ndef f():\n\n    return 1\n\n```\n"]
    assert closed[end:] == "next"


def test_fence_closes_only_with_same_character_and_enough_of_them() -> None:
    assert split_blocks("````\nx\n```\n\n") == (0, [])
    assert split_blocks("```\nx\n~~~\n\n") == (0, [])
    assert split_blocks("```\nx\n`````\n\n")[1] == ["```\nx\n`````\n"]
    assert split_blocks("~~~\nx\n~~~\n\n")[1] == ["~~~\nx\n~~~\n"]
    # A closing fence has nothing but fence characters after it.
    assert split_blocks("```\nx\n``` not a close\n\n") == (0, [])


def test_indented_fence_up_to_three_spaces() -> None:
    assert split_blocks("   ```\n\n")[1] == []
    # Four spaces is an indented code line, not a fence: the blank line finishes it.
    assert split_blocks("    ```\n\n")[1] == ["    ```\n"]


def test_whole_document_blocks() -> None:
    end, blocks = split_blocks(DOCUMENT)
    assert blocks == [
        "# Title\n",
        "First paragraph,\non two lines.\n",
        "- a list\n- of items\n",
        "```python\ndef f():\n\n    return 1\n```\n",
        "~~~\ntilde fence with ``` inside\n\n~~~\n",
        "Text right before a fence\n```\ncode in the same block\n\n```\n",
        "| a | b |\n| - | - |\n| 1 | 2 |\n",
    ]
    assert DOCUMENT[end:] == "Last paragraph, still growing"
    # Every finished block lies inside the finished part, in order.
    pos = 0
    for block in blocks:
        pos = DOCUMENT.index(block, pos) + len(block)
        assert pos <= end


def test_finished_blocks_never_change_as_text_streams_in() -> None:
    previous_end, previous_blocks = 0, []
    for i in range(len(DOCUMENT) + 1):
        end, blocks = split_blocks(DOCUMENT[:i])
        assert end >= previous_end
        assert blocks[: len(previous_blocks)] == previous_blocks, i
        previous_end, previous_blocks = end, blocks
    assert len(previous_blocks) == 7
