"""Pygments' regex lexers, several times faster, with exactly the same tokens.

A Pygments `RegexLexer` tries its current state's rules in order at every
position until one matches: for a name in Python code that is some 50 regex
calls (the keywords, the builtins, the operators ... before the rule for a
name), about 220 µs for a line of code here. Code is most of a typical
technical answer, so highlighting it was a quarter of the CPU a fast stream
costs.

The rules that can match at a position are mostly known from its first
character: a rule whose every non-empty match starts with a letter cannot
match at a `(`. So, once per state and character, the rules are filtered to
those whose possible first characters include it (a rule that may match the
empty string, unless a lookahead opens it, or whose first characters cannot be
worked out, is always kept; one that ignores case is kept for a character in
either case), in their
order, and only those are tried. The first rule that matches is the same as
Pygments would find, so the tokens are the same: a test compares them with
Pygments' own over many languages and cut-off, malformed code. (Python's eight
string-prefix rules ignore case: tried at every position until they were
filtered too, they were a third of its lexing time.)

A rule's possible first characters are read from its parsed pattern (the
standard library's regex parser); a lexer this cannot serve (one with its own
tokenizing loop, a pattern the parser reads differently) keeps Pygments' own
method. A lexer whose own method calls the regex lexer's by name and adjusts
its tokens (C's makes standard type names keywords) gets a copy of that
method in which the name stands for this faster way.
"""

from __future__ import annotations

import re
import types
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Whitespace, _TokenType

try:  # the standard library's regex parser (public under another name before 3.11)
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python: Pygments' own method serves
    _C = _P = None

MAX_CHARACTERS = 4096
"""Characters per state whose filtered rules are kept (more are filtered each time)."""

_Atoms = frozenset[tuple[str, Any]]
_Rule = tuple[Callable[..., Any], Any, Any]


class _Unknown(Exception):
    """A pattern construct whose first characters are not worked out."""


def _first_of_sequence(items: Any) -> tuple[set[tuple[str, Any]], bool]:
    """(first-character atoms, may be empty) of a parsed sequence."""
    first: set[tuple[str, Any]] = set()
    for op, av in items:
        atoms, nullable = _first_of_item(op, av)
        first |= atoms
        if not nullable:
            return first, False
    return first, True


def _first_of_item(op: Any, av: Any) -> tuple[set[tuple[str, Any]], bool]:
    if op is _C.LITERAL:
        return {("literal", av)}, False
    if op is _C.IN:
        return {("in", tuple(av))}, False
    if op is _C.AT or op is _C.ASSERT or op is _C.ASSERT_NOT:
        return set(), True  # zero width: the first character comes after it
    if op is _C.BRANCH:
        first: set[tuple[str, Any]] = set()
        nullable = False
        for sequence in av[1]:
            atoms, empty = _first_of_sequence(sequence)
            first |= atoms
            nullable = nullable or empty
        return first, nullable
    if op is _C.SUBPATTERN:
        _group, add_flags, _del_flags, sequence = av
        if add_flags & re.IGNORECASE:
            raise _Unknown
        return _first_of_sequence(sequence)
    if op is _C.MAX_REPEAT or op is _C.MIN_REPEAT or op is getattr(_C, "POSSESSIVE_REPEAT", None):
        low, high, sequence = av
        if high == 0:
            return set(), True
        atoms, empty = _first_of_sequence(sequence)
        return atoms, empty or low == 0
    if op is getattr(_C, "ATOMIC_GROUP", None):
        return _first_of_sequence(av)
    raise _Unknown  # any character, a back reference, a conditional ...


def first_characters(pattern: re.Pattern[str]) -> _Atoms | None:
    """What the first character of any non-empty match of `pattern` satisfies,
    as atoms (for `starter`); None when that is not known or the pattern may
    match the empty string (it can then match anywhere)."""
    if _P is None or not isinstance(pattern.pattern, str):
        return None
    try:
        parsed = _P.parse(pattern.pattern, pattern.flags)
        atoms, nullable = _first_of_sequence(parsed)
        if nullable:
            # A match may be empty; one that must first pass a lookahead is still
            # bound to the characters that may start the lookahead's match.
            atoms = _first_of_lookahead(parsed)
    except Exception:  # noqa: BLE001 - _Unknown, or a parser that reads it otherwise: try the rule always
        return None
    if atoms is None or (pattern.flags & re.IGNORECASE and not all(_ascii_atom(atom) for atom in atoms)):
        return None
    return frozenset(atoms)


def _first_of_lookahead(items: Any) -> set[tuple[str, Any]] | None:
    """The first-character atoms of a lookahead that opens a pattern (after
    anchors such as `^`), if its own match cannot be empty; None otherwise."""
    for op, av in items:
        if op is _C.AT:
            continue
        if op is _C.ASSERT and av[0] == 1:
            atoms, nullable = _first_of_sequence(av[1])
            return None if nullable else atoms
        return None
    return None


def _ascii_atom(atom: tuple[str, Any]) -> bool:
    """Whether an atom stands for ASCII characters only (or a category), not
    negated: what a case-insensitive pattern's first characters are worked out
    for (`_Starter` then tries a character's other case too)."""
    kind, av = atom
    if kind == "literal":
        return bool(av < 128)
    for op, value in av:
        if op is _C.NEGATE or (op is _C.LITERAL and value >= 128) or (op is _C.RANGE and value[1] >= 128):
            return False
    return True


_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}


class _CharSet:
    """A parsed character set (`[...]`), as `re` reads it: literals, ranges, categories."""

    __slots__ = ("negate", "codes", "starts", "ends", "categories")

    def __init__(self, items: tuple[tuple[Any, Any], ...], ascii: bool) -> None:
        self.negate = False
        codes: set[int] = set()
        ranges: list[tuple[int, int]] = []
        self.categories: list[Callable[[str], Any]] = []
        for op, av in items:
            if op is _C.NEGATE:
                self.negate = True
            elif op is _C.LITERAL:
                codes.add(av)
            elif op is _C.RANGE:
                ranges.append((av[0], av[1]))
            elif op is _C.CATEGORY and str(av) in _CATEGORIES:
                self.categories.append(re.compile(_CATEGORIES[str(av)], re.ASCII if ascii else 0).match)
            else:
                raise _Unknown
        self.codes = frozenset(codes)
        merged: list[list[int]] = []
        for low, high in sorted(ranges):
            if merged and low <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], high)
            else:
                merged.append([low, high])
        self.starts = [low for low, _ in merged]
        self.ends = [high for _, high in merged]

    def __contains__(self, char: str) -> bool:
        code = ord(char)
        hit = code in self.codes
        if not hit and self.starts:
            index = bisect_right(self.starts, code) - 1
            hit = index >= 0 and code <= self.ends[index]
        if not hit:
            hit = any(match(char) is not None for match in self.categories)
        return hit != self.negate


class _Starter:
    """Whether a match may start with a character (see `starter`)."""

    __slots__ = ("codes", "sets", "ignore_case")

    def __init__(self, atoms: _Atoms, ascii: bool, ignore_case: bool = False) -> None:
        self.codes = frozenset(av for kind, av in atoms if kind == "literal")
        self.sets = [_CharSet(av, ascii) for kind, av in atoms if kind == "in"]
        self.ignore_case = ignore_case
        """The pattern ignores case (its first characters are all ASCII, see
        `first_characters`): a character matches in either case. A non-ASCII
        one may match an ASCII letter ("ſ" matches "s", the Kelvin sign "k"):
        it may start a match."""

    def __call__(self, char: str) -> bool:
        if self.ignore_case:
            if not char.isascii():
                return True
            return self._starts(char.lower()) or self._starts(char.upper())
        return self._starts(char)

    def _starts(self, char: str) -> bool:
        return ord(char) in self.codes or any(char in charset for charset in self.sets)


_STARTERS: dict[tuple[str, int], _Starter | None] = {}
"""By pattern: lexers share many (each rule of a state, states of related lexers)."""


def starter(pattern: re.Pattern[str]) -> Callable[[str], bool] | None:
    """A test of one character: may a non-empty match of `pattern` start with
    it? None when any character may start one (or a match may be empty)."""
    if _P is None or not isinstance(pattern.pattern, str):
        return None
    key = (pattern.pattern, pattern.flags)
    if key not in _STARTERS:
        atoms = first_characters(pattern)
        try:
            _STARTERS[key] = _Starter(
                atoms, bool(pattern.flags & re.ASCII), bool(pattern.flags & re.IGNORECASE)
            ) if atoms else None
        except _Unknown:
            _STARTERS[key] = None
    return _STARTERS[key]


class _Dispatch:
    """For one lexer class: the rules each state may match with, by first character."""

    def __init__(self, tokendefs: dict[str, list[_Rule]]) -> None:
        self.tokendefs = tokendefs
        self.tables: dict[str, dict[str, tuple[_Rule, ...]]] = {}
        self._starts: dict[int, Callable[[str], bool] | None] = {}

    def table(self, state: str) -> dict[str, tuple[_Rule, ...]]:
        table = self.tables.get(state)
        if table is None:
            table = self.tables[state] = {}
        return table

    def rules(self, state: str, char: str) -> tuple[_Rule, ...]:
        kept = []
        starts = self._starts
        for rule in self.tokendefs[state]:
            key = id(rule)
            if key in starts:
                start = starts[key]
            else:
                pattern = getattr(rule[0], "__self__", None)
                start = starts[key] = starter(pattern) if isinstance(pattern, re.Pattern) else None
            if start is None or start(char):
                kept.append(rule)
        rules = tuple(kept)
        table = self.table(state)
        if len(table) < MAX_CHARACTERS:
            table[char] = rules
        return rules


_DISPATCH: dict[type, _Dispatch] = {}


def _tokens_unprocessed(
    self: RegexLexer, text: str, stack: tuple[str, ...] = ("root",)
) -> Iterator[tuple[int, Any, str]]:
    """`RegexLexer.get_tokens_unprocessed`, line for line, trying only the rules
    the character at the position may start."""
    dispatch = _DISPATCH.get(type(self))
    if dispatch is None:
        dispatch = _DISPATCH[type(self)] = _Dispatch(self._tokens)
    pos = 0
    end = len(text)
    tokendefs = self._tokens
    statestack = list(stack)
    state = statestack[-1]
    table = dispatch.table(state)
    while 1:
        if pos < end:
            char = text[pos]
            statetokens = table.get(char)
            if statetokens is None:
                statetokens = dispatch.rules(state, char)
        else:
            statetokens = tokendefs[state]
        for rexmatch, action, new_state in statetokens:
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(self, m)
                pos = m.end()
                if new_state is not None:
                    # state transition
                    if isinstance(new_state, tuple):
                        for name in new_state:
                            if name == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif name == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(name)
                    elif isinstance(new_state, int):
                        # pop, but keep at least one state on the stack
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    else:
                        raise AssertionError(f"wrong state def: {new_state!r}")
                    state = statestack[-1]
                    table = dispatch.table(state)
                break
        else:
            # No rule matched.
            try:
                if text[pos] == "\n":
                    # at EOL, reset state to "root"
                    statestack = ["root"]
                    state = "root"
                    table = dispatch.table(state)
                    yield pos, Whitespace, "\n"
                    pos += 1
                    continue
                yield pos, Error, text[pos]
                pos += 1
            except IndexError:
                break


def speed_up(lexer: Lexer) -> Lexer:
    """`lexer`, tokenizing the faster way when it is a plain `RegexLexer`, or
    one whose own `get_tokens_unprocessed` calls `RegexLexer`'s and then
    adjusts what it gives (C and C++, Lua, PHP, Swift, ...): the same tokens.
    Any other lexer is returned as it is."""
    cls = type(lexer)
    if _P is None or not isinstance(lexer, RegexLexer) or not isinstance(getattr(cls, "_tokens", None), dict):
        return lexer
    method = cls.get_tokens_unprocessed
    if method is RegexLexer.get_tokens_unprocessed:
        # Pygments calls `self.get_tokens_unprocessed`, also for embedded code (`using(this)`).
        lexer.get_tokens_unprocessed = types.MethodType(_tokens_unprocessed, lexer)  # type: ignore[method-assign]
    elif (faster := _with_faster_regex_lexer(method)) is not None:
        lexer.get_tokens_unprocessed = types.MethodType(faster, lexer)  # type: ignore[method-assign]
    return lexer


class _FasterRegexLexer(RegexLexer):
    """`RegexLexer` as a lexer's own method sees it (below): its tokenizing the faster way."""

    get_tokens_unprocessed = _tokens_unprocessed  # type: ignore[assignment]


_FASTER: dict[Any, Callable[..., Any] | None] = {}


def _with_faster_regex_lexer(method: Any) -> Callable[..., Any] | None:
    """A copy of a lexer class's own `get_tokens_unprocessed` that finds, under
    the name `RegexLexer` (a global of its module, looked up when it runs),
    `_FasterRegexLexer`; None when it does not call `RegexLexer`'s by that name."""
    if method in _FASTER:
        return _FASTER[method]
    faster = None
    code = getattr(method, "__code__", None)
    if (
        isinstance(method, types.FunctionType)
        and code is not None
        and "RegexLexer" in code.co_names
        and method.__globals__.get("RegexLexer") is RegexLexer
    ):
        faster = types.FunctionType(
            code, {**method.__globals__, "RegexLexer": _FasterRegexLexer}, method.__name__, method.__defaults__,
            method.__closure__,
        )
        faster.__kwdefaults__ = method.__kwdefaults__
    _FASTER[method] = faster
    return faster
