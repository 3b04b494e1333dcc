"""The one boundary untrusted text crosses before it reaches a terminal.

Model text, reasoning, tool arguments and results, server error messages and
titles derived from them are attacker-controlled. Before any widget,
notification, title or terminal sees them, `sanitize` makes control characters
visible so they can never act on the terminal (escape sequences: clipboard
writes via OSC 52, title changes, screen clears, hidden hyperlinks):

* C0 controls except newline and tab become the matching Control Pictures
  character (ESC -> "␛"), DEL becomes "␡", C1 controls (U+0080-U+009F) become
  "⍰", CRLF becomes LF;
* bidirectional overrides and isolates, and invisible tag characters, are removed.

Text stored in the database and written to files stays exactly as received.
"""

from __future__ import annotations

import re

_C1_PLACEHOLDER = "⍰"

_TABLE: dict[int, str | None] = {}
for _code in range(0x20):
    if _code not in (0x09, 0x0A):
        _TABLE[_code] = chr(0x2400 + _code)
_TABLE[0x7F] = "␡"
for _code in range(0x80, 0xA0):
    _TABLE[_code] = _C1_PLACEHOLDER
for _code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C):
    _TABLE[_code] = None
for _code in range(0xE0000, 0xE0080):
    _TABLE[_code] = None

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")


def sanitize(text: str) -> str:
    """`text` with every terminal-active or invisible-deceptive character made harmless."""
    if not _UNSAFE.search(text):
        return text
    return text.replace("\r\n", "\n").translate(_TABLE)


def is_clean(text: str) -> bool:
    return _UNSAFE.search(text) is None


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
    return "\\u%04x" % code


def json_for_terminal(text: str) -> str:
    """JSON text (as `json.dumps` writes it) with every character `sanitize`
    would change written as a \\u escape: the same JSON value, inert on a terminal."""
    return _UNSAFE.sub(_json_escape, text)
