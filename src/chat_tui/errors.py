"""The project's own small error hierarchy.

Every foreign exception (httpx, sqlite3, json, OS errors) is translated into one
of these at a single boundary, so callers and the UI only ever deal with a
`ChatTuiError`, which carries a one-line, user-facing message.
"""

from __future__ import annotations

from enum import StrEnum


class ChatTuiError(Exception):
    """Base of every error the user may see. `str(error)` is one line."""

    title = "Error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ChatTuiError):
    """Bad command-line options, environment or config file."""

    title = "Configuration error"
    exit_code = 2


class StoreError(ChatTuiError):
    """The local database could not be opened, read or written."""

    title = "Storage error"


class ErrorKind(StrEnum):
    """Why a provider request failed; decides retries and wording."""

    AUTH = "auth"
    """401: the API key is missing or wrong."""
    PERMISSION = "permission"
    """403: the key may not use this model or endpoint."""
    NOT_FOUND = "not_found"
    """404: unknown model or wrong base URL."""
    BAD_REQUEST = "bad_request"
    """400/422: the server rejected the request."""
    RATE_LIMIT = "rate_limit"
    """429: too many requests or quota exhausted."""
    SERVER = "server"
    """5xx or an error the server reported mid-stream."""
    CONNECTION = "connection"
    """Could not connect, or the connection dropped."""
    TIMEOUT = "timeout"
    """Connecting or waiting for the response headers took too long."""
    STALL = "stall"
    """The stream went silent for longer than the stall timeout."""
    BAD_RESPONSE = "bad_response"
    """The server sent something that is not a valid stream."""
    TOO_LARGE = "too_large"
    """An event or the whole answer exceeded the size limits."""
    LENGTH = "length"
    """The model stopped at its output length limit (the answer is cut off)."""
    TOOL_LIMIT = "tool_limit"
    """The turn reached its limit of tool rounds; the last calls were not run."""
    CANCELLED = "cancelled"
    """The user stopped the answer."""
    CRASH = "crash"
    """The app stopped (killed or crashed) while the answer streamed."""


RETRYABLE_KINDS = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.SERVER, ErrorKind.CONNECTION, ErrorKind.TIMEOUT})


class ProviderError(ChatTuiError):
    """A request to a model provider failed."""

    title = "Provider error"

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        raw: object = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.raw = raw
        self.permanent = permanent
        """Trying again cannot help (a setting must change first), whatever the kind."""

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS and not self.permanent

    def __repr__(self) -> str:
        return f"ProviderError({self.kind.value!r}, {self.message!r}, status={self.status!r})"
