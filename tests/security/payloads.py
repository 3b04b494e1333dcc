"""Hostile model output, and the server that serves it.

Each `Payload` is an answer a malicious or broken model could stream: terminal
escape sequences (also cut across stream events and across reads), console
markup and action tags, dangerous links, invisible characters and invalid
UTF-8. `forbidden` lists bytes that must never reach the terminal; `visible`
lists what the screen must show instead (Control Pictures such as "␛" for
ESC, "⍰" for C1 controls, markup as literal text).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.support.sse_server import RecordedRequest, Reply, error_reply, openai_chunk


@dataclass(frozen=True)
class Payload:
    name: str
    deltas: tuple[str, ...] = ()
    """The answer's text, one stream event per piece."""
    forbidden: tuple[bytes, ...] = ()
    visible: tuple[str, ...] = ()
    cut: int = 0
    """Also cut the response body into reads of this many bytes (splitting
    escape sequences and multi-byte characters between reads)."""
    raw: bytes = b""
    """Instead of `deltas`: bytes put as they are inside the JSON string (invalid UTF-8)."""
    reasoning: str = ""
    """Reasoning text streamed before the answer."""

    @property
    def text(self) -> str:
        """The answer as the client must store it."""
        return self.raw.decode("utf-8", "replace") if self.raw else "".join(self.deltas)

    def stored(self, image_port: int) -> str:
        return self.text.replace(IMAGE_PORT_PLACEHOLDER, str(image_port))


IMAGE_PORT_PLACEHOLDER = "{image_port}"


def _event(obj: Any) -> bytes:
    # ensure_ascii=False: non-ASCII and C1 characters travel as raw UTF-8, as
    # many servers send them; C0 controls can only travel escaped (\u001b).
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


def answer_reply(payload: Payload, tail: str, image_port: int = 0) -> Reply:
    """The payload streamed as an OpenAI-compatible answer, then `tail` (an end marker)."""
    body = [_event(openai_chunk("", role="assistant"))]
    if payload.reasoning:
        body.append(_event(openai_chunk(reasoning_content=payload.reasoning)))
    if payload.raw:
        head, _, end = json.dumps(openai_chunk("\x00")).partition("\\u0000")
        body.append(b"data: " + head.encode() + payload.raw + end.encode() + b"\n\n")
    for delta in payload.deltas:
        body.append(_event(openai_chunk(delta.replace(IMAGE_PORT_PLACEHOLDER, str(image_port)))))
    body += [_event(openai_chunk(tail)), _event(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]
    data = b"".join(body)
    if payload.cut:
        return Reply(chunks=[data[i:i + payload.cut] for i in range(0, len(data), payload.cut)])
    return Reply(chunks=body)


ESC = "\x1b"
ANSWERS: list[Payload] = [
    Payload("osc52 clipboard write", ("copy ", "\x1b]52;c;U0VDLU9TQzUy\x07", " done"),
            forbidden=(b"\x1b]52;", b"U0VDLU9TQzUy\x07"), visible=("␛]52;c;U0VDLU9TQzUy␇",)),
    Payload("osc52 split across events", ("x ", ESC, "]52;", "c;U1BMSVQ", "=", "\x07", " y"),
            forbidden=(b"\x1b]52;", b"U1BMSVQ=\x07"), visible=("␛]52;c;U1BMSVQ=␇",)),
    Payload("osc52 cut across reads", ("clip \x1b]52;p;Q1VUUkVBRA==\x1b\\ end",), cut=3,
            forbidden=(b"\x1b]52;", b"Q1VUUkVBRA==\x1b"), visible=("␛]52;p;Q1VUUkVBRA==␛",)),
    Payload("osc0 title", ("\x1b]0;evil-title-T0\x07 after",),
            forbidden=(b"\x1b]0;", b"evil-title-T0\x07"), visible=("␛]0;evil-title-T0␇",)),
    Payload("osc2 title, ST-terminated", ("\x1b]2;evil-title-T2\x1b\\ after",),
            forbidden=(b"\x1b]2;", b"evil-title-T2\x1b"), visible=("␛]2;evil-title-T2␛",)),
    Payload("osc8 hyperlink", ("see \x1b]8;;https://evil.example/o8\x1b\\innocent\x1b]8;;\x1b\\ text",),
            forbidden=(b"\x1b]8;", b"evil.example/o8\x1b"), visible=("␛]8;;https://evil.example/o8␛",)),
    Payload("csi clear and home", ("\x1b[2J\x1b[H\x1b[3J CLEARED-C1",),
            forbidden=(b"\x1b[2J", b"\x1b[H", b"\x1b[3J"), visible=("␛[2J␛[H␛[3J CLEARED-C1",)),
    Payload("csi cursor moves", ("\x1b[99;199H\x1b[5A\x1b[K\x1b7\x1b8 MOVED-M1",),
            forbidden=(b"\x1b[99;199H", b"\x1b[5A", b"\x1b[K", b"\x1b7"), visible=("␛[99;199H␛[5A␛[K",)),
    Payload("csi colours", ("\x1b[5;31;47mBLINKRED\x1b[0m",),
            forbidden=(b"\x1b[5;31;47m",), visible=("␛[5;31;47mBLINKRED␛[0m",)),
    Payload("dcs request", ("dcs \x1bP1$qm\x1b\\ \x1bP+q544e\x1b\\ end",),
            forbidden=(b"\x1bP",), visible=("␛P1$qm␛", "␛P+q544e␛")),
    Payload("apc graphics", ("apc \x1b_Gf=100,a=T;QVBDLUdSQVBI\x1b\\ end",),
            forbidden=(b"\x1b_", b"QVBDLUdSQVBI\x1b"), visible=("␛_Gf=100,a=T;QVBDLUdSQVBI␛",)),
    Payload("c1 controls, 8-bit forms", ("c1 \x9b2J \x9d0;c1-title-C9\x9c \x90q\x9c \x9e\x9f end",),
            visible=("⍰2J ⍰0;c1-title-C9⍰ ⍰q⍰ ⍰⍰ end",)),
    Payload("c1 cut across reads", ("c1 \x9b6n and \x9d52;c;QzFDVVQ=\x07 end",), cut=1,
            forbidden=(b"QzFDVVQ=\x07",), visible=("⍰6n and ⍰52;c;QzFDVVQ=␇",)),
    Payload("bracketed paste and mode toggles", ("\x1b[?2004l\x1b[201~ \x1b[?1049l\x1b[?25h\x1b[?1000l tail",),
            forbidden=(b"\x1b[?2004l", b"\x1b[201~", b"\x1b[?1049l", b"\x1b[?1000l"),
            visible=("␛[?2004l␛[201~ ␛[?1049l␛[?25h␛[?1000l",)),
    Payload("bell, backspace, carriage return", ("safe\rEVIL-CR\x08\x08\x07 \x00nul \x7fdel",),
            forbidden=(b"safe\rEVIL", b"\x08", b"\x00"), visible=("safe␍EVIL-CR␈␈␇ ␀nul ␡del",)),
    Payload("console markup and action tags",
            ("[@click=app.quit]QUITLINK[/] [link=file:///etc/passwd]PASSWD[/link] [/] [bold [b]BOLDTAG[/b] "
             "[red on white]REDTAG[/] [$accent]VAR",),
            forbidden=(b"\x1b]8;",),
            visible=("[@click=app.quit]QUITLINK[/]", "[link=file:///etc/passwd]PASSWD[/link]", "[/] [bold [b]BOLDTAG[/b]")),
    Payload("dangerous link schemes",
            ("[jslink](javascript:alert(1)) [filelink](file:///etc/shadow) [datalink](data:text/html;base64,PHNjcmlwdD4=)\n\n",
             "<https://evil.example/auto-link> [ref-link][r1]\n\n[r1]: vbscript:msgbox\n\n",
             "![tracker](http://127.0.0.1:{image_port}/pixel.png) <img src=\"http://127.0.0.1:{image_port}/x.png\">\n\n",
             "see [wherever](https://evil.example/hidden-target) end"),
            forbidden=(b"\x1b]8;",),
            visible=("[jslink](javascript:alert(1))", "evil.example/auto-link", "evil.example/hidden-target")),
    Payload("escapes inside code, heading, table and list",
            ("# \x1b]0;heading-H1\x07\n\n", "```python\nprint('\x1b]52;c;Q09ERQ==\x07')\n```\n\n",
             "| a | b |\n|---|---|\n| \x1b[2J | `\x1b]0;inline-I1\x07` |\n\n", "- item \x1b[99;1H\n"),
            forbidden=(b"\x1b]0;", b"\x1b]52;", b"\x1b[2J", b"\x1b[99;1H"),
            visible=("␛]0;heading-H1␇", "␛]52;c;Q09ERQ==␇", "␛]0;inline-I1␇", "item ␛[99;1H")),
    Payload("bidi overrides and isolates", ("file\u202etxt.exe\u202c \u2066isolated\u2069 \u061cmark \u2067rtl\u2068x\u2069",),
            forbidden=("\u202e".encode(), "\u2066".encode(), "\u2067".encode(), "\u2068".encode(), "\u061c".encode()),
            visible=("filetxt.exe isolated mark rtlx",)),
    Payload("zero-width and joiners", ("shown-ZW zero\u200bwidth\u200c non\u200djoin \ufeffbom 👩\u200d💻 done",),
            visible=("shown-ZW zero",)),  # (pyte stops drawing a line at U+200B; the bytes are right)
    Payload("tag characters", ("tagged\U000e0041\U000e0042\U000e007f text",),
            forbidden=("\U000e0041".encode(),), visible=("tagged text",)),
    Payload("invalid UTF-8", raw=b"bad \xff\xfe \xc3( \x9b2J \xed\xa0\x80 \xf0\x9f end-IU",
            visible=("end-IU", "\ufffd")),
    Payload("multi-byte characters cut across reads", ("日本語 ", "é", "😀", " 𝕏 ", "\u00e9\u0301 done-MB"), cut=1,
            visible=("日本語 é😀 𝕏", "done-MB")),
    Payload("escape in reasoning", ("answer-RS",), reasoning="think \x1b]0;reason-title-R1\x07 \x1b[2J",
            forbidden=(b"\x1b]0;", b"reason-title-R1\x07", b"\x1b[2J"), visible=("answer-RS",)),
]


ERROR_TEXT = "\x1b]0;err-title-E1\x07 \x1b[2J \x9b6n [bold]MARKUP-E1[/bold] [@click=app.quit]q[/]"
"""A server error message with escapes and markup (shown in banners, labels, stderr)."""
ERROR_FORBIDDEN = (b"\x1b]0;", b"err-title-E1\x07", b"\x1b[2J")
ERROR_VISIBLE = ("␛]0;err-title-E1␇ ␛[2J ⍰6n [bold]MARKUP-E1[/bold]",)


TITLES = [
    "\x1b]0;title-osc-TT1\x07 \x1b[2J after",
    "[@click=app.quit]TITLE-CLICK[/] [bold [link=file:///etc/passwd]x[/link]",
    "\x9d0;c1-title-TT3\x9c \u202eRTL-TT3 \x1b]52;c;VElUTEU=\x07",
]
"""Conversation titles (a title comes from a prompt, which may be pasted or piped text)."""
TITLE_FORBIDDEN = (b"\x1b]0;", b"\x1b[2J", b"\x1b]52;", "\u202e".encode())
TITLE_VISIBLE = ("␛]0;title-osc-TT1␇ ␛[2J after", "[@click=app.quit]TITLE-CLICK[/] [bold", "⍰0;c1-title-TT3⍰ RTL-TT3")


def stream_error_reply(text: str, message: str) -> Reply:
    """Some text, then an error event mid-stream."""
    return Reply(chunks=[_event(openai_chunk(text)), _event({"error": {"message": message, "type": "server_error"}})])


def http_error(status: int, message: str, retry_after: str | None = None) -> Reply:
    return error_reply(status, message, {"retry-after": retry_after} if retry_after else None)


@dataclass
class Router:
    """Serves the replies planned for each prompt, in order (requests may arrive
    in any order: several `ask` processes run at once)."""

    plans: dict[str, list[Reply]] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def plan(self, prompt: str, *replies: Reply) -> None:
        self.plans[prompt] = list(replies)

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
        prompt = next((m.get("content") for m in messages if m.get("role") == "user"), None)
        replies = self.plans.get(prompt) if isinstance(prompt, str) else None
        if not replies:
            return error_reply(500, f"no reply planned for {prompt!r}")
        index = self.served[prompt]
        self.served[prompt] += 1
        return replies[min(index, len(replies) - 1)]
