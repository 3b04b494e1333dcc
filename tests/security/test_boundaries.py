"""The small pieces the terminal tests rely on: JSON for a terminal keeps its
value, and a key never shows in a repr or in what a crash report prints."""

from __future__ import annotations

import json

import pytest
from rich.pretty import pretty_repr

from chat_tui.providers.http import Secret, _RedactedHeaders
from chat_tui.sanitize import is_clean, json_for_terminal
from tests.security.payloads import ANSWERS, ERROR_TEXT, TITLES

TEXTS = [p.text for p in ANSWERS] + TITLES + [ERROR_TEXT, "plain é 日本 😀", "\U000e0041\u202e\x7f"]


@pytest.mark.parametrize("text", TEXTS)
def test_json_for_a_terminal_is_inert_and_keeps_the_value(text: str) -> None:
    for dumped in (json.dumps({"text": text}, ensure_ascii=False), json.dumps([text], indent=2, ensure_ascii=False)):
        shown = json_for_terminal(dumped)
        assert is_clean(shown)
        assert json.loads(shown) == json.loads(dumped)


def test_a_secret_shows_nowhere() -> None:
    key = "sk-test-SECRET-0123456789abcdef"
    secret = Secret(key)
    headers = _RedactedHeaders({"accept": "text/event-stream", "authorization": f"Bearer {key}", "x-api-key": key})
    for shown in (repr(secret), str(secret), f"{secret}", repr(headers), pretty_repr(headers), pretty_repr([secret])):
        assert key not in shown
    assert dict(headers)["authorization"] == f"Bearer {key}"  # what is sent is intact
    assert secret.mask(f"bad key {key}!") == "bad key ********!"
    assert Secret("short").mask("a short word") == "a short word"
