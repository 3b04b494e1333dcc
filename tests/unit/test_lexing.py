"""The faster regex lexing gives exactly Pygments' tokens: for the languages
answers use most, whole and cut off anywhere, and for every regex lexer
Pygments has, on text that is code in no language at all."""

from __future__ import annotations

import random
import re

import pytest
from pygments.lexers import get_all_lexers, get_lexer_by_name

from chat_tui.ui.code_render import lexer_for
from chat_tui.ui.lexing import first_characters, speed_up, starter

SAMPLE = '''#!/usr/bin/env python3
"""Module docstring with 'quotes' and a \\"escape\\"."""
import os, sys  # comment
from typing import Any
@decorator(arg=1)
async def main(items: list[int], *args, **kwargs) -> dict[str, Any]:
    value = f"{items[0]!r:>10} and {{braces}} {os.sep}"
    raw = rb'\\d+' + b"\\x00" + r"""multi
line"""
    total = 0x1F + 0o17 + 0b1010 + 1_000.5e-3 + 3j
    if value is not None and total >= 10 or not items:
        return {"key": [1, 2.5, True, None], 'other': lambda x: x ** 2}
    while True: break
class Thing(Base, metaclass=Meta):
    pass
/* a C comment
   over two lines */
int main(int argc, char **argv) { printf("%d\\n", argc); return 0; } // tail
#include <stdio.h>
#define MAX(a, b) ((a) > (b) ? (a) : (b))
const re = /ab+c/gi; let s = `template ${x + 1} end`; x => x * 2; === !== ?? ?.
fn main() -> Result<(), Box<dyn Error>> { let v: Vec<&str> = vec!["a"]; 'label: loop {} }
func (s *Server) Handle(w http.ResponseWriter, r *http.Request) error { return nil }
SELECT name, COUNT(*) AS n FROM users WHERE id IN (1, 2) AND name LIKE 'a%' GROUP BY name;
<div class="x" id='y'>text &amp; more<!-- comment --><br/></div>
body { color: #ff0000; margin: 0 auto !important; } @media (max-width: 600px) { a:hover {} }
key: value
list:
  - item # comment
  - "quoted: string"
[section]
name = "toml"  # comment
echo "$HOME ${PATH:-/bin}" 'single' $(date) `backticks` | grep -v x > /dev/null 2>&1 && exit 0
cat <<EOF
heredoc $var
EOF
{"json": [1, -2.5e10, true, false, null, {"nested": "va\\"lue"}]}
unterminated "string and ' quote and /* comment
ünïcödé_name = "ü" + 'é' ; λ → ∀ 日本語 😀
\ttab\there
'''

COMMON = [
    "python", "javascript", "typescript", "jsx", "rust", "go", "c", "cpp", "csharp", "java", "kotlin", "swift",
    "ruby", "php", "bash", "console", "powershell", "sql", "html", "xml", "css", "scss", "yaml", "toml", "ini",
    "json", "markdown", "diff", "docker", "make", "lua", "haskell", "scala", "elixir", "r", "perl", "text",
]


def tokens(lexer, text):  # noqa: ANN001
    return list(lexer.get_tokens(text))


def fresh(name: str):  # noqa: ANN201
    return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)


@pytest.mark.parametrize("name", COMMON)
def test_common_languages_whole_and_cut_anywhere(name: str) -> None:
    plain = fresh(name)
    fast = speed_up(fresh(name))
    rng = random.Random(name)
    cuts = sorted(rng.sample(range(1, len(SAMPLE)), 24))
    texts = [SAMPLE, *(SAMPLE[:cut] for cut in cuts), *(SAMPLE[cut:] for cut in cuts[::3])]
    for text in texts:
        assert tokens(fast, text) == tokens(plain, text), text[-60:]


def _regex_lexer_names() -> list[str]:
    names = []
    for _name, aliases, _files, _mimes in get_all_lexers():
        if aliases:
            names.append(aliases[0])
    return names


def test_every_regex_lexer_gives_pygments_tokens() -> None:
    """Every lexer Pygments has that the faster way serves, on one stretch of
    the sample and one of characters that are code in no language."""
    rng = random.Random(7)
    alphabet = "ab1 _\n\"'`#/*-<>{}()[]$@\\.,;:=+\t%&|!?~^é日ABſ\u212a"
    served = own = 0
    for name in _regex_lexer_names():
        try:
            plain = get_lexer_by_name(name, stripnl=False, ensurenl=True)
            fast = speed_up(get_lexer_by_name(name, stripnl=False, ensurenl=True))
        except Exception:  # noqa: BLE001 - a lexer that needs an optional package
            continue
        if "get_tokens_unprocessed" not in vars(fast):
            continue
        served += 1
        own += vars(fast)["get_tokens_unprocessed"].__func__.__name__ == "get_tokens_unprocessed"
        start = rng.randrange(len(SAMPLE) - 400)
        for text in (SAMPLE[start:start + 400], "".join(rng.choice(alphabet) for _ in range(200))):
            try:
                expected = tokens(plain, text)
            except Exception as error:  # noqa: BLE001 - then the faster way must fail the same way
                with pytest.raises(type(error)):
                    tokens(fast, text)
                continue
            assert tokens(fast, text) == expected, (name, text)
    assert served > 400  # most of Pygments' lexers are regex lexers
    assert own > 20  # with a method of their own around the regex lexer's (C, C++, Lua, Swift, ...)


def test_the_app_lexers_are_the_faster_ones_and_others_are_left_alone() -> None:
    for name in ("python", "rust", "c", "cpp", "lua", "swift"):
        assert "get_tokens_unprocessed" in vars(lexer_for(name)), name
    json = fresh("json")  # Pygments' JSON lexer has its own loop
    assert speed_up(json) is json
    assert "get_tokens_unprocessed" not in vars(json)
    ruby = fresh("ruby")  # an extended regex lexer: its own loop too
    assert "get_tokens_unprocessed" not in vars(speed_up(ruby))


def test_a_lexer_s_own_method_around_the_regex_lexer_s_runs_as_it_is_written() -> None:
    """C's lexer turns names of standard types into keywords around the regex
    lexer's tokens: the faster copy of its method does the same, and its own
    options still count."""
    from pygments.token import Keyword, Name

    code = "size_t n = 0; uint8_t b; FILE *f; my_type x;\n"
    for options, typed in (({}, True), ({"stdlibhighlighting": False, "c99highlighting": False}, False)):
        plain = get_lexer_by_name("c", stripnl=False, ensurenl=True, **options)
        fast = speed_up(get_lexer_by_name("c", stripnl=False, ensurenl=True, **options))
        assert "get_tokens_unprocessed" in vars(fast)
        assert tokens(fast, code) == tokens(plain, code)
        kinds = {value: kind for kind, value in tokens(fast, code)}
        assert (kinds["size_t"] is Keyword.Type) is typed and kinds["my_type"] is Name


@pytest.mark.parametrize(
    ("pattern", "starts", "cannot"),
    [
        ("abc", "a", "bc("),
        ("a|b|(?:cd)", "abc", "d("),
        ("a?b*c", "abc", "d"),
        ("(?=x)y", "y", "x"),  # a lookahead is zero width: the match starts with y
        (r"(?<!\.)\bfoo", "f", ".o"),
        (r"\d+", "7٣", "a "),  # Unicode digits too, as `re` has them
        (r"(?a)\d", "7", "٣a"),
        (r"(?a:\d)", "7٣", "a"),  # a flag for a part only: the wider set (tried a little more often)
        (r"[^a-c]", "dX\n", "abc"),
        (r"[a-c_\s]x", "b_ \t", "dx"),
        (r"\w", "aé_9", " -"),
        (r"[a-zc-e]", "afz", "0"),  # overlapping ranges
        (r"x{0}y", "y", "x"),
        (r"(?i)a", "aA", "bB"),  # either case; a non-ASCII letter may fold to an ASCII one ("ſ" is "s")
        (r"(?i)(r[ft]|[ft]r)(\")", "rRfFtTſ", "aS\"("),
        (r"(?i)[a-c]|\d", "aBc7", "d_"),
        (r"(?=a)", "a", "b "),  # an empty match, only where the lookahead's match may start
        (r"(?m)^(?=\s|/|<!--)", " \n/<", "a>"),
        (r"(?=[ab])b*", "ab", "c"),
    ],
)
def test_first_characters(pattern: str, starts: str, cannot: str) -> None:
    compiled = re.compile(pattern)
    assert first_characters(compiled) is not None
    may_start = starter(compiled)
    assert may_start is not None
    for char in starts:
        assert may_start(char), char
    for char in cannot:
        assert not may_start(char), char


@pytest.mark.parametrize(
    "pattern", ["", "a*", "(?:ab)?", "(?i:a)b", ".x", "(a)?(?(1)b|c)", "x|", "(?i)é", "(?i)[^a]", "(?i)[a-ü]",
                "(?!a)", "(?<=a)", "(?=a*)", "b*(?=a)", "(?=a)|b*"]
)
def test_patterns_tried_everywhere(pattern: str) -> None:
    """A pattern that may match nothing (unless a lookahead that must match
    something opens it), ignores case for a part of it or starts with a
    non-ASCII or negated set of characters when it ignores case, or whose first
    character is not worked out, is tried at every position."""
    assert first_characters(re.compile(pattern)) is None
    assert starter(re.compile(pattern)) is None


@pytest.mark.parametrize("pattern", ["(?i)s", "(?i)k", "(?i)i", "(?i)[a-z]", "(?i)[S-T]x?", "(?i)ss", "(?ia)k"])
def test_a_pattern_that_ignores_case_may_start_wherever_re_matches_it(pattern: str) -> None:
    compiled = re.compile(pattern)
    may_start = starter(compiled)
    assert may_start is not None
    checked = 0
    for code in [*range(0x300), 0x130, 0x131, 0x17F, 0x1E9E, 0x212A, 0x212B, 0xFB05, 0xFB06]:
        char = chr(code)
        if compiled.match(char * 2):
            checked += 1
            assert may_start(char), (pattern, char)
    assert checked >= 2
