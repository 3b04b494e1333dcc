"""Untrusted text can never act on the terminal once sanitized."""

from __future__ import annotations

import pytest

from chat_tui.sanitize import is_clean, sanitize

ATTACKS = {
    "osc52_clipboard_write": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "osc52_st_terminated": "\x1b]52;c;cm0gLXJmIH4=\x1b\\",
    "title_change": "\x1b]0;pwned\x07",
    "hyperlink": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "csi_clear_screen": "\x1b[2J\x1b[H",
    "csi_colour": "\x1b[31mred\x1b[0m",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;title\x9c",
    "bell_backspace": "abc\x08\x08\x08xyz\x07",
    "carriage_return_overwrite": "safe\rEVIL",
    "del": "a\x7fb",
    "nul": "a\x00b",
    "bidi_override": "invoice\u202egnp.exe",
    "bidi_isolates": "\u2066a\u2067b\u2068c\u2069",
    "arabic_letter_mark": "x\u061cy",
    "tag_characters": "hi\U000e0041\U000e0042\U000e007f",
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_attacks_are_made_harmless(text: str) -> None:
    assert not is_clean(text)
    out = sanitize(text)
    assert is_clean(out)
    for char in out:
        code = ord(char)
        assert char in "\n\t" or not (code < 0x20 or 0x7F <= code <= 0x9F), repr(out)
        assert not (0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069 or code == 0x061C), repr(out)
        assert not 0xE0000 <= code <= 0xE007F, repr(out)


def test_escape_becomes_a_visible_symbol() -> None:
    assert sanitize("\x1b[2Jx") == "␛[2Jx"
    assert sanitize("\x1b]52;c;AAAA\x07") == "␛]52;c;AAAA␇"


def test_c1_and_del_become_placeholders() -> None:
    assert sanitize("a\x9bb\x85c") == "a⍰b⍰c"
    assert sanitize("a\x7fb") == "a␡b"


def test_bidi_and_tag_characters_are_removed() -> None:
    assert sanitize("invoice\u202egnp.exe") == "invoicegnp.exe"
    assert sanitize("a\u2066b\u2069c") == "abc"
    assert sanitize("hi\U000e0041\U000e007f!") == "hi!"


def test_newline_and_tab_are_kept_and_crlf_becomes_lf() -> None:
    assert sanitize("a\tb\nc") == "a\tb\nc"
    assert sanitize("line one\r\nline two\x1b") == "line one\nline two␛"
    assert sanitize("lone\rcr") == "lone␍cr"


@pytest.mark.parametrize(
    "text",
    ["", "plain ascii", "multi\nline\n\ttabbed", "unicode: héllo 世界 🎉 — “quotes” ½", "```py\nprint(1)\n```",
     "zero width joiner 👩\u200d💻", "right-to-left text: שלום مرحبا"],
)
def test_clean_text_is_returned_unchanged(text: str) -> None:
    assert is_clean(text)
    assert sanitize(text) is text


def test_every_code_point_below_0xa0_is_safe_after_sanitize() -> None:
    everything = "".join(chr(c) for c in range(0xA0))
    out = sanitize(everything)
    assert is_clean(out)
    # Printable ASCII survives unchanged and in order.
    assert "".join(c for c in out if 0x20 <= ord(c) < 0x7F) == "".join(chr(c) for c in range(0x20, 0x7F))
    assert out.count("\n") == 1 and out.count("\t") == 1
