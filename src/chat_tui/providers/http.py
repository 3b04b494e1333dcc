"""HTTP plumbing shared by the OpenAI-compatible and Anthropic providers.

This is the one boundary where httpx exceptions and HTTP error statuses become
`ProviderError`s with an `ErrorKind` and a one-line message that says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers.base import ChatRequest
from chat_tui.providers.events import StreamEvent, StreamFailed, TextDelta
from chat_tui.providers.pacing import PacedReads
from chat_tui.providers.sse import DEFAULT_MAX_EVENT_BYTES, SSEDecoder, SSEEvent

if TYPE_CHECKING:
    # httpx is imported when the HTTP client is made (after the app's first
    # frame, see `HTTPStreamProvider.prepare`): it is a fifth of a cold start.
    import httpx

DEFAULT_MAX_ANSWER_CHARS = 32 * 1024 * 1024
MAX_ERROR_BODY = 64 * 1024
MAX_MODELS_BODY = 4 * 1024 * 1024
"""The largest list of models read from a server (bytes)."""
MAX_MODELS = 2000
"""The most model names kept from one list."""
MAX_MODEL_NAME = 256
"""Longer names in a list are skipped (no real model is called that)."""
MODELS_TIMEOUT = 15.0
"""Seconds a list of models may take in all."""


class Secret:
    """Holds an API key; its repr never shows it (crash reports print locals)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def mask(self, text: str) -> str:
        """`text` with the key replaced by asterisks (a server may echo it in an error)."""
        if len(self._value) < 8:  # too short to tell apart from ordinary words
            return text
        return text.replace(self._value, "********")


_SENSITIVE_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "signature")


class _RedactedHeaders(dict[str, str]):
    """Request headers whose repr hides credentials: a crash report that
    prints the locals of the streaming frame must not show the API key."""

    def __repr__(self) -> str:
        shown = {k: "********" if any(w in k.lower() for w in _SENSITIVE_HEADER_WORDS) else v for k, v in self.items()}
        return repr(shown)


class StreamParser(Protocol):
    """Turns SSE events of one wire format into normalized events."""

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        """Events for one SSE event. An error event ends the list with
        `StreamFailed` and sets `finished`."""
        ...

    @property
    def finished(self) -> bool:
        """True once the end marker arrived: stop reading."""
        ...

    def close(self) -> list[StreamEvent]:
        """Events owed at the end of the stream: completed tool calls and the
        terminal event (nothing after a failure)."""
        ...

    @property
    def finish_reason(self) -> str | None: ...


def hints_for(key_env: str) -> dict[ErrorKind, str]:
    """What to tell the user to do, per kind of failure."""
    return {
        ErrorKind.AUTH: f"check the API key (set {key_env} or --api-key-env)",
        ErrorKind.PERMISSION: "this key may not use this model",
        ErrorKind.NOT_FOUND: "check the model name (--model) and the base URL (--base-url)",
        ErrorKind.RATE_LIMIT: "wait a moment and retry, or check your plan's limits",
    }


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (also `retry-after-ms`)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message_from_body(body: bytes) -> tuple[str, object]:
    """The human message inside an error body, and the parsed body (or None)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed: Any = json.loads(text)
    except (ValueError, RecursionError):
        return one_line(text) if text else "", None
    return message_from_error_object(parsed), parsed


def message_from_error_object(obj: Any) -> str:
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if isinstance(obj, dict):
        inner = obj.get("error", obj)
        if isinstance(inner, str):
            return one_line(inner)
        if isinstance(inner, dict):
            for key in ("message", "detail", "msg"):
                if isinstance(inner.get(key), str) and inner[key]:
                    msg = inner[key]
                    raw = (inner.get("metadata") or {}).get("raw") if isinstance(inner.get("metadata"), dict) else None
                    if isinstance(raw, str) and raw and raw not in msg:
                        msg = f"{msg}: {raw}"
                    return one_line(msg)
        for key in ("message", "detail"):
            if isinstance(obj.get(key), str):
                return one_line(obj[key])
    return one_line(json.dumps(obj)) if obj is not None else ""


def kind_for_status(status: int) -> ErrorKind:
    if status == 401:
        return ErrorKind.AUTH
    if status == 403:
        return ErrorKind.PERMISSION
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if status == 413:
        return ErrorKind.TOO_LARGE
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.BAD_REQUEST


def http_error(status: int, body: bytes, headers: httpx.Headers, hints: dict[ErrorKind, str]) -> ProviderError:
    import httpx

    kind = kind_for_status(status)
    detail, parsed = error_message_from_body(body)
    reason = httpx.codes.get_reason_phrase(status) or "error"
    message = f"HTTP {status} {reason}"
    if detail:
        message += f": {detail}"
    if hint := hints.get(kind):
        message += f" — {hint}"
    return ProviderError(
        kind, one_line(message, 500), status=status, retry_after=retry_after_seconds(headers), raw=parsed
    )


def transport_error(exc: httpx.HTTPError, *, base_url: str, stall_timeout: float, streaming: bool) -> ProviderError:
    """Map an httpx exception to a ProviderError (the single mapping point)."""
    import httpx

    if isinstance(exc, httpx.ReadTimeout) and streaming:
        return ProviderError(ErrorKind.STALL, f"No data for {stall_timeout:g} s: the stream stalled.")
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(ErrorKind.TIMEOUT, f"Timed out connecting to {base_url}.")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(ErrorKind.TIMEOUT, f"No response from {base_url} for {stall_timeout:g} s.")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(
            ErrorKind.CONNECTION, f"Cannot connect to {base_url}: is the server running and the URL right?"
        )
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.NetworkError)):
        if streaming:
            return ProviderError(ErrorKind.CONNECTION, "Connection lost: the server closed the stream early.")
        return ProviderError(ErrorKind.CONNECTION, f"Connection to {base_url} failed: {one_line(str(exc)) or type(exc).__name__}.")
    if isinstance(exc, httpx.DecodingError):
        return ProviderError(ErrorKind.BAD_RESPONSE, "The server sent a body that could not be decoded.")
    return ProviderError(ErrorKind.CONNECTION, f"HTTP error talking to {base_url}: {type(exc).__name__}.")


def joined_text(batch: list[StreamEvent]) -> list[StreamEvent]:
    """`batch` with each run of text deltas as one (a read of a fast stream
    holds a dozen tokens: the engine and the screen then handle one event, not
    a dozen)."""
    out: list[StreamEvent] = []
    run: list[str] = []
    for event in batch:
        if type(event) is TextDelta:
            run.append(event.text)  # type: ignore[attr-defined]
            continue
        if run:
            out.append(TextDelta("".join(run)))
            run = []
        out.append(event)
    if run:
        out.append(TextDelta("".join(run)))
    return out


class HTTPStreamProvider:
    """Base for providers that POST a JSON request and read an SSE response."""

    name = "http"
    supports_prefill = False
    hints: dict[ErrorKind, str] = {}

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: Secret | None = None,
        headers: dict[str, str] | None = None,
        stall_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_event_chars: int = DEFAULT_MAX_EVENT_BYTES,
        max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key or Secret("")
        self._extra_headers = dict(headers or {})
        self.stall_timeout = stall_timeout
        self._max_event = max_event_chars
        self._max_answer = max_answer_chars
        self._connect_timeout = connect_timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """The HTTP client, made when first needed: making one loads the TLS
        certificates and the connection pool's modules (about 0.1 s here),
        which the app's start should not wait for (see `prepare`)."""
        if self._http is None:
            import httpx

            try:
                timeout = httpx.Timeout(self.stall_timeout, connect=self._connect_timeout)
                self._http = httpx.AsyncClient(timeout=timeout, transport=self._transport, follow_redirects=True)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                # A bad SSL_CERT_FILE or proxy setting, say: one line, not a crash.
                raise ProviderError(
                    ErrorKind.CONNECTION, f"Could not set up the HTTP client: {' '.join(str(exc).split())}",
                    permanent=True,
                ) from None
        return self._http

    def prepare(self) -> None:
        """Make the HTTP client now, and load what the first request would load
        (the app does it once its first frame is shown): ~30 ms that the first
        question's answer would otherwise wait for."""
        self._client  # noqa: B018 - made on first access
        import codecs
        import importlib

        import chat_tui.providers.direct_body  # noqa: F401 - the streamed body's reader

        codecs.getincrementaldecoder("utf-8-sig")  # the SSE decoder's (a codec loaded on first use)
        # httpcore's first request on asyncio loads anyio and its asyncio backend.
        with contextlib.suppress(ImportError):
            importlib.import_module("anyio._backends._asyncio")

    @property
    def label(self) -> str:
        return f"{self.name} · {self.model}"

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # -- listing models -----------------------------------------------------------
    def models_endpoint(self) -> str:
        return f"{self.base_url}/models"

    async def list_models(self) -> list[str]:
        """The model names the server offers (`data[].id`), in its order.

        A server without a list of models (404) gives an empty list; any other
        failure raises a `ProviderError` with a one-line message (never the key).
        At most `MODELS_TIMEOUT` seconds and `MAX_MODELS_BODY` bytes."""
        try:
            return await self._list_models()
        except ProviderError as exc:
            exc.message = self._api_key.mask(exc.message)
            exc.args = (exc.message,)
            raise

    async def _list_models(self) -> list[str]:
        import httpx

        headers = _RedactedHeaders({"accept": "application/json", **self.auth_headers(), **self._extra_headers})
        limit = min(self.stall_timeout, MODELS_TIMEOUT)
        try:
            async with asyncio.timeout(MODELS_TIMEOUT):
                async with self._client.stream("GET", self.models_endpoint(), headers=headers) as response:
                    if response.status_code == 404:
                        return []
                    if response.status_code >= 400:
                        raw = await _read_capped(response, MAX_ERROR_BODY)
                        raise http_error(response.status_code, raw, response.headers, self.hints)
                    raw = await _read_capped(response, MAX_MODELS_BODY + 1)
        except TimeoutError:
            raise ProviderError(
                ErrorKind.TIMEOUT, f"No list of models from {self.base_url} within {MODELS_TIMEOUT:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, base_url=self.base_url, stall_timeout=limit, streaming=False) from None
        if len(raw) > MAX_MODELS_BODY:
            raise ProviderError(ErrorKind.TOO_LARGE, "The list of models is too large to read.")
        return model_names(raw)

    # -- to be provided by subclasses -------------------------------------------
    def endpoint(self) -> str:
        raise NotImplementedError

    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def make_parser(self) -> StreamParser:
        raise NotImplementedError

    # -- the streaming loop -------------------------------------------------------
    async def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        """The response's events; an error's message never contains the API key."""
        async with contextlib.aclosing(self._stream(request)) as batches:
            async for batch in batches:
                for event in batch:
                    if isinstance(event, StreamFailed):
                        event.error.message = self._api_key.mask(event.error.message)
                        event.error.args = (event.error.message,)
                yield batch

    async def _stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]:
        import httpx

        from chat_tui.providers.direct_body import direct_body

        parser = self.make_parser()
        headers = _RedactedHeaders({"accept": "text/event-stream", **self.auth_headers(), **self._extra_headers})
        body = self.build_body(request)
        decoder = SSEDecoder(self._max_event)
        received = 0
        opened = False
        try:
            client = self._client
        except ProviderError as exc:
            yield [StreamFailed(exc)]
            return
        try:
            async with client.stream("POST", self.endpoint(), json=body, headers=headers) as response:
                opened = True
                if response.status_code >= 400:
                    raw = await _read_capped(response, MAX_ERROR_BODY)
                    yield [StreamFailed(http_error(response.status_code, raw, response.headers, self.hints))]
                    return
                if _is_plain_json(response.headers.get("content-type", "")):
                    # Some servers ignore `stream: true` and send the whole answer at once.
                    raw = await _read_capped(response, self._max_answer)
                    yield _whole_response(parser, raw)
                    return
                direct = direct_body(response, self.stall_timeout)
                reads = PacedReads(direct, drains=True) if direct is not None else PacedReads(response.aiter_bytes())
                async for chunk in reads:
                    # One read may hold many events: none past the limit is read.
                    chunk = chunk[: self._max_answer + 1 - received]
                    received += len(chunk)
                    batch: list[StreamEvent] = []
                    for sse in decoder.feed(chunk):
                        batch.extend(parser.feed(sse))
                        if parser.finished:
                            break
                    if not parser.finished and (decoder.overflow or received > self._max_answer):
                        what = "one stream event" if decoder.overflow else "the answer"
                        error = ProviderError(
                            ErrorKind.TOO_LARGE, f"Response too large: {what} exceeds the size limit."
                        )
                        batch.append(StreamFailed(error, parser.finish_reason))
                        yield batch
                        return
                    if parser.finished:
                        batch.extend(parser.close())
                        yield batch
                        if direct is not None:
                            # Handed over already; now the body's end (just behind the end
                            # marker), so that the connection can serve the next request.
                            await direct.drain()
                        return
                    if batch:
                        yield joined_text(batch) if len(batch) > 1 else batch
            yield parser.close()
        except httpx.HTTPError as exc:
            if opened and parser.finish_reason is not None:
                # The model had finished (a finish/stop reason arrived); only the
                # end marker was lost with the connection: the answer is whole.
                owed = parser.close()
                if owed:
                    yield owed
                    return
            error = transport_error(exc, base_url=self.base_url, stall_timeout=self.stall_timeout, streaming=opened)
            yield [StreamFailed(error, parser.finish_reason)]


def model_names(raw: bytes) -> list[str]:
    """The `data[].id` strings of a list of models (OpenAI and Anthropic use the
    same shape), without duplicates, empty or overlong names."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        obj = None
    entries = obj.get("data") if isinstance(obj, dict) else obj
    if not isinstance(entries, list):
        raise ProviderError(ErrorKind.BAD_RESPONSE, "The server's list of models is not a list of models.")
    names: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        name = entry.get("id") if isinstance(entry, dict) else entry
        if not isinstance(name, str):
            continue
        name = name.strip()
        if name and len(name) <= MAX_MODEL_NAME and name not in seen:
            seen.add(name)
            names.append(name)
            if len(names) >= MAX_MODELS:
                break
    return names


def _is_plain_json(content_type: str) -> bool:
    ctype = content_type.split(";")[0].strip().lower()
    return ctype == "application/json" or (ctype.endswith("+json") and "event-stream" not in ctype)


def _whole_response(parser: StreamParser, raw: bytes) -> list[StreamEvent]:
    """Events for a complete, non-streamed JSON answer."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        obj = None
    feed_whole = getattr(parser, "feed_whole", None)
    if not isinstance(obj, dict) or feed_whole is None:
        error = ProviderError(ErrorKind.BAD_RESPONSE, "The server answered with JSON that is not a chat answer.")
        return [StreamFailed(error)]
    return [*feed_whole(obj), *parser.close()]


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    import httpx

    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except httpx.HTTPError:
        pass
    return b"".join(parts)[:limit]
