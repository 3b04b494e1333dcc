"""A generated long answer: headings, paragraphs, 40-line code blocks, tables and lists."""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"\s*\S{1,5}|\s+")
WORDS = ("the stream renders each block once and keeps its lines while only the growing tail "
         "is drawn again at every frame so that the cost stays flat as the answer grows longer "
         "with code tables lists and headings").split()


def _paragraph(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(30, 90))]
    for i in range(0, len(words), 11):
        words[i] = f"**{words[i]}**" if i % 2 else f"`{words[i]}`"
    return " ".join(words).capitalize() + "."


def _code(rng: random.Random, lines: int = 40) -> str:
    body = []
    for i in range(lines):
        indent = "    " * (i % 3)
        body.append(f"{indent}value_{i} = compute(item_{i}, factor={rng.randint(1, 99)})  # step {i}")
    return "```python\n" + "\n".join(body) + "\n```"


def _table(rng: random.Random) -> str:
    rows = [f"| row {i} | {rng.randint(1, 999)} ms | {rng.choice(['ok', 'slow', 'fast'])} | {rng.random():.3f} |"
            for i in range(rng.randint(5, 12))]
    return "| name | time | status | score |\n| --- | ---: | :---: | --- |\n" + "\n".join(rows)


def _list(rng: random.Random) -> str:
    return "\n".join(f"- item {i}: {' '.join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))}"
                     for i in range(rng.randint(3, 8)))


def generate_text(min_tokens: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    tokens = 0
    section = 0
    while tokens < min_tokens:
        section += 1
        block = [f"## Section {section}", _paragraph(rng), _code(rng), _paragraph(rng), _table(rng), _list(rng),
                 _paragraph(rng)]
        text = "\n\n".join(block)
        parts.append(text)
        tokens += len(tokenize(text))
    return "\n\n".join(parts) + "\n"


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def answer_tokens(count: int, seed: int = 7) -> list[str]:
    """Exactly `count` tokens of the generated answer (joined, they are its first characters)."""
    return tokenize(generate_text(count + 50, seed))[:count]
