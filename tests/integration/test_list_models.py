"""Listing a server's models over real HTTP, in both wire formats, and switching
the model of the next requests."""

from __future__ import annotations

import json
import socket

import pytest

from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers import http
from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.demo import DemoProvider
from chat_tui.providers.http import Secret
from chat_tui.providers.openai_compat import OpenAICompatProvider
from tests.support.sse_server import (
    Reply,
    SSETestServer,
    error_reply,
    openai_text_reply,
)

KEY = "sk-test-0123456789abcdef"


def openai(server: SSETestServer, **kwargs) -> OpenAICompatProvider:
    return OpenAICompatProvider(base_url=server.base_url, model="test-model", api_key=Secret(KEY),
                                stall_timeout=2.0, **kwargs)


def anthropic(server: SSETestServer) -> AnthropicProvider:
    return AnthropicProvider(base_url=server.base_url, model="claude-test", api_key=Secret(KEY), stall_timeout=2.0)


def json_reply(body: object, status: int = 200) -> Reply:
    return Reply(status=status, chunks=[json.dumps(body).encode()], headers={"content-type": "application/json"},
                 chunked=False)


async def test_openai_lists_data_ids_with_its_headers(server: SSETestServer) -> None:
    server.models = ["gpt-b", "gpt-a", "local/llama3:8b"]
    provider = openai(server, headers={"x-extra": "1"})
    try:
        assert await provider.list_models() == ["gpt-b", "gpt-a", "local/llama3:8b"]
    finally:
        await provider.aclose()
    (request,) = server.model_list_requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-extra"] == "1"


async def test_anthropic_lists_its_format_with_its_headers(server: SSETestServer) -> None:
    server.models = ["claude-new", "claude-old"]
    provider = anthropic(server)
    try:
        assert await provider.list_models() == ["claude-new", "claude-old"]
    finally:
        await provider.aclose()
    (request,) = server.model_list_requests
    assert request.path.startswith("/v1/models?limit=")
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"]
    assert "authorization" not in request.headers


async def test_a_server_without_a_list_of_models_gives_an_empty_list(server: SSETestServer) -> None:
    server.models_reply = json_reply({"error": {"message": "not found"}}, status=404)
    for provider in (openai(server), anthropic(server)):
        try:
            assert await provider.list_models() == []
        finally:
            await provider.aclose()


@pytest.mark.parametrize(("status", "kind", "words"), [
    (401, ErrorKind.AUTH, "check the API key"),
    (403, ErrorKind.PERMISSION, "HTTP 403"),
    (500, ErrorKind.SERVER, "HTTP 500"),
])
async def test_errors_are_one_line_provider_errors_without_the_key(
    server: SSETestServer, status: int, kind: ErrorKind, words: str
) -> None:
    server.models_reply = error_reply(status, f"bad key {KEY}\nsecond line")
    provider = openai(server)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.list_models()
    finally:
        await provider.aclose()
    error = caught.value
    assert error.kind == kind and error.status == status
    assert words in error.message
    assert "\n" not in error.message
    assert KEY not in error.message and KEY not in str(error)


async def test_malformed_and_odd_entries(server: SSETestServer) -> None:
    server.models_reply = json_reply({"data": [{"id": "ok"}, {"id": ""}, {"id": 3}, "bare", {"name": "no-id"},
                                               {"id": "ok"}, {"id": "x" * 1000}, {"id": " spaced "}]})
    provider = openai(server)
    try:
        assert await provider.list_models() == ["ok", "bare", "spaced"]
        server.models_reply = Reply(chunks=[b"<html>not json</html>"], headers={"content-type": "text/html"})
        with pytest.raises(ProviderError) as caught:
            await provider.list_models()
        assert caught.value.kind == ErrorKind.BAD_RESPONSE
    finally:
        await provider.aclose()


async def test_list_is_bounded_in_size(server: SSETestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_MODELS_BODY", 1000)
    server.models = [f"model-{i:04d}" for i in range(200)]
    provider = openai(server)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.list_models()
        assert caught.value.kind == ErrorKind.TOO_LARGE
        monkeypatch.setattr(http, "MAX_MODELS_BODY", 1_000_000)
        monkeypatch.setattr(http, "MAX_MODELS", 50)
        assert await provider.list_models() == [f"model-{i:04d}" for i in range(50)]
    finally:
        await provider.aclose()


async def test_list_is_bounded_in_time(server: SSETestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MODELS_TIMEOUT", 0.3)
    server.models_reply = Reply(chunks=[b'{"data": [', 3.0, b"]}"], headers={"content-type": "application/json"})
    provider = OpenAICompatProvider(base_url=server.base_url, model="m", stall_timeout=30.0)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.list_models()
        assert caught.value.kind == ErrorKind.TIMEOUT
    finally:
        await provider.aclose()


async def test_no_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = OpenAICompatProvider(base_url=f"http://127.0.0.1:{port}/v1", model="m", stall_timeout=2.0)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.list_models()
        assert caught.value.kind == ErrorKind.CONNECTION
    finally:
        await provider.aclose()


async def test_setting_the_model_changes_the_next_request_and_the_label(server: SSETestServer) -> None:
    server.queue(openai_text_reply(["hi"]))
    provider = openai(server)
    try:
        provider.model = "other-model"
        assert provider.label == "openai · other-model"
        request = ChatRequest(model=provider.model, messages=[PromptMessage("user", "hello")])
        async for _ in provider.stream(request):
            pass
    finally:
        await provider.aclose()
    assert server.requests[0].body["model"] == "other-model"


async def test_demo_lists_its_own_model_and_its_label_follows() -> None:
    demo = DemoProvider(tokens_per_second=0, first_token_delay=0)
    assert await demo.list_models() == ["demo"]
    assert demo.label == "demo (offline, scripted)"
    demo.model = "demo-large"
    assert await demo.list_models() == ["demo-large"]
    assert "demo-large" in demo.label
