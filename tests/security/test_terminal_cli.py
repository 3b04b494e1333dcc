"""`chat-tui ask`, `list` and `export` writing hostile text to a real terminal.

Each `ask` run gets one payload (several runs at once, to stay quick); `--raw`
and `--json` get all payloads in one answer. Whatever the mode, the terminal
receives no escape sequence but Rich's colours, no C1 control and no stray
control character; the screen shows the payload as inert text; the database
and files written with `-o` keep the text exactly as the server sent it.
"""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chat_tui.domain import Role
from chat_tui.store import Store
from tests.security.conftest import count_payloads
from tests.security.payloads import (
    ANSWERS, ERROR_TEXT, ERROR_VISIBLE, TITLE_FORBIDDEN, TITLE_VISIBLE, TITLES, Payload, Router, answer_reply,
    http_error, stream_error_reply,
)
from tests.security.terminal import NO_SEQUENCES, RICH_SEQUENCES, chat_tui, pty_env, run_in_pty, terminal_problems
from tests.support.sse_server import SSETestServer
from tests.support.tool_replies import Call, openai_tool_reply

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

ALL = Payload("every payload in one answer", tuple(d for p in ANSWERS if not p.raw for d in (*p.deltas, "\n\n")))


def flat(text: str) -> str:
    return " ".join(re.sub("[\u2500-\u259f]", " ", text).split())


def check_run(label: str, result: tuple[int, bytes, str], *, code: int, allowed: re.Pattern[bytes],
              forbidden: tuple[bytes, ...] = (), visible: tuple[str, ...] = (), wraps: bool = True) -> list[str]:
    """`wraps`: the program wraps lines at word boundaries, so `visible` is looked
    for on the screen; otherwise (text hard-wrapped by the terminal) in the bytes."""
    rc, output, screen = result
    if not wraps:
        screen = output.decode("utf-8", "replace").replace("\r\n", "\n")
    problems = [f"exit code {rc}, expected {code}"] if rc != code else []
    problems += terminal_problems(output, allowed)
    problems += [f"reached the terminal: {m!r}" for m in forbidden if m in output]
    problems += [f"not on the screen: {v!r}" for v in visible if flat(v) not in flat(screen)]
    return [f"{label}: {p}" for p in problems]


def groups(payloads: list[Payload], size: int = 4) -> list[list[Payload]]:
    """Payloads a few at a time (one `ask` process each: starting one is the slow part)."""
    plain = [p for p in payloads if not p.raw]
    return [plain[i:i + size] for i in range(0, len(plain), size)] + [[p] for p in payloads if p.raw]


def combined(group: list[Payload]) -> Payload:
    """One answer made of `group`'s payloads, one paragraph (or more) each."""
    if len(group) == 1:
        return group[0]
    cuts = [p.cut for p in group if p.cut]
    return Payload(
        " + ".join(p.name for p in group), tuple(d for p in group for d in (*p.deltas, "\n\n")),
        forbidden=tuple(m for p in group for m in p.forbidden), visible=tuple(v for p in group for v in p.visible),
        cut=min(cuts, default=0), reasoning="".join(p.reasoning for p in group),
    )


def strings(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for item in value for s in strings(item)] if isinstance(value, list) else []


def stored_answers(data: Path) -> dict[str, str]:
    store = Store.open(data / "chat.sqlite3")
    try:
        out = {}
        for c in store.list_conversations(500):
            messages = store.messages(c.id)
            out[c.title] = "".join(m.text for m in messages if m.role == Role.ASSISTANT)
        return out
    finally:
        store.close()


def test_ask_on_a_terminal(server: SSETestServer, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    router = Router()
    server.responder = router
    data = tmp_path / "data"
    env = pty_env(data, {"CHAT_TUI_RETRIES": "1"})
    base = ("ask", "--base-url", server.base_url, "--model", "m")
    runs: list[tuple[str, list[str], dict]] = []
    answers = [combined(group) for group in groups(ANSWERS)]
    for number, payload in enumerate(answers, 1):
        prompt = f"A{number:02d}"
        router.plan(prompt, answer_reply(payload, ""))
        runs.append((prompt, chat_tui(*base, prompt), dict(code=0, allowed=RICH_SEQUENCES, forbidden=payload.forbidden,
                                                           visible=payload.visible)))
    errors = {
        "AE1": ([http_error(400, ERROR_TEXT)], ERROR_VISIBLE),
        "AE2": ([stream_error_reply("partial-AE2 ", ERROR_TEXT)], ERROR_VISIBLE),
        "AE3": ([http_error(503, ERROR_TEXT, retry_after="0"), http_error(503, ERROR_TEXT)], ERROR_VISIBLE),
        "AT1": ([openai_tool_reply(Call("c1", "calculator", json.dumps({"expression": "\x1b]0;tool-arg-AT1\x07"})),
                                   Call("c2", "\x1b]0;tool-name-AT1\x07", "{}")),
                 answer_reply(Payload("after tools", ("tools-done-AT1",)), "")], ("tool ␛]0;tool-name-AT1␇",)),
    }
    for prompt, (replies, visible) in errors.items():
        router.plan(prompt, *replies)
        runs.append((prompt, chat_tui(*base, prompt), dict(code=0 if prompt == "AT1" else 1, allowed=RICH_SEQUENCES,
                                                           forbidden=(b"\x1b]0;", b"\x1b[2J"), visible=visible)))
    router.plan("RAW", answer_reply(ALL, ""))
    runs.append(("RAW", chat_tui(*base, "--raw", "RAW"), dict(code=0, allowed=NO_SEQUENCES, wraps=False,
                 forbidden=tuple(m for p in ANSWERS for m in p.forbidden), visible=tuple(v for p in ANSWERS if not p.raw
                                                                                  for v in p.visible if "`" not in v))))
    router.plan("JSON", answer_reply(ALL, ""))
    runs.append(("JSON", chat_tui(*base, "--json", "JSON"), dict(code=0, allowed=NO_SEQUENCES)))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda run: run_in_pty(run[1], env, timeout=60), runs))

    failures = []
    for (prompt, _, expect), result in zip(runs, results):
        failures += check_run(prompt, result, **expect)
    json_output = results[-1][1].decode("utf-8", "replace").replace("\r", "")
    try:
        answer = json.loads(json_output.strip().splitlines()[-1])
    except ValueError as exc:
        failures.append(f"JSON: the output is not JSON: {exc}")
    else:
        if answer["text"] != ALL.stored(0):
            failures.append("JSON: the text field is not the answer as sent")
    stored = stored_answers(data)
    for number, payload in enumerate(answers, 1):
        if stored.get(f"A{number:02d}") != payload.stored(0):
            failures.append(f"A{number:02d}: stored {stored.get(f'A{number:02d}')!r}, sent {payload.text!r}")
    if stored.get("RAW") != ALL.stored(0) or stored.get("AE2") != "partial-AE2 ":
        failures.append("RAW / AE2: not stored as sent")
    count_payloads(request.config, f"ask: Markdown on a terminal ({len(answers)} runs)", len(ANSWERS))
    count_payloads(request.config, "ask: stderr (server errors, retries, tool lines)", len(errors))
    count_payloads(request.config, "ask --raw on a terminal", len(ANSWERS) - 1)
    count_payloads(request.config, "ask --json on a terminal", len(ANSWERS) - 1)
    assert not failures, "\n".join(failures)


def test_list_and_export_on_a_terminal(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    data = tmp_path / "data"
    store = Store.open(data / "chat.sqlite3")
    for title in TITLES:
        cid = store.create_conversation(title=title, provider="openai", model="\x1b]0;model-name\x07")
    store.add_message(cid, Role.USER, TITLES[0])
    store.add_message(cid, Role.ASSISTANT, ALL.text)
    store.close()
    env = pty_env(data)
    failures = check_run("list", run_in_pty(chat_tui("list"), env), code=0, allowed=NO_SEQUENCES,
                         forbidden=(*TITLE_FORBIDDEN, b"\x1b]0;model-name"), visible=TITLE_VISIBLE)
    markers = tuple(m for p in ANSWERS for m in p.forbidden) + TITLE_FORBIDDEN
    for words in (("CLEARED",), ("BOLDTAG", "QUITLINK"), ("title",)):
        failures += check_run(f"search {' '.join(words)}", run_in_pty(chat_tui("search", *words), env), code=0,
                              allowed=RICH_SEQUENCES, forbidden=markers, visible=(words[-1],))
    code, output, _ = result = run_in_pty(chat_tui("search", "--json", "CLEARED"), env)
    failures += check_run("search --json", result, code=0, allowed=NO_SEQUENCES, forbidden=markers)
    if not any("CLEARED-C1" in text for text in strings(json.loads(output.decode("utf-8", "replace")))):
        failures.append("search --json: the snippet is not in the output")
    failures += check_run("export md", run_in_pty(chat_tui("export", str(cid)), env), code=0, allowed=NO_SEQUENCES,
                          forbidden=markers, wraps=False, visible=("␛]52;c;U0VDLU9TQzUy␇", "[@click=app.quit]QUITLINK[/]"))
    code, output, _ = result = run_in_pty(chat_tui("export", str(cid), "--format", "json"), env)
    failures += check_run("export json", result, code=0, allowed=NO_SEQUENCES, forbidden=markers)
    exported = json.loads(output.decode("utf-8", "replace").replace("\r", ""))
    if ALL.text not in strings(exported):
        failures.append("export json: the answer is not in the export exactly")
    for fmt in ("md", "json"):
        target = tmp_path / f"out.{fmt}"
        run_in_pty(chat_tui("export", str(cid), "--format", fmt, "-o", str(target)), env)
        written = target.read_bytes().decode("utf-8")
        if ALL.text not in (written if fmt == "md" else strings(json.loads(written))):
            failures.append(f"export -o {fmt}: the file does not hold the text exactly as received")
    count_payloads(request.config, "list on a terminal (titles)", len(TITLES))
    count_payloads(request.config, "export to a terminal (md, json)", 2 * (len(ANSWERS) - 1 + len(TITLES)))
    count_payloads(request.config, "search results on a terminal (text, json)", 4)
    assert not failures, "\n".join(failures)
