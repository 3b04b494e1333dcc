"""Model providers: each turns an API's stream into normalized events.

Nothing here imports Textual, Rich, the store or the engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from chat_tui.config import Settings, resolve_provider_kind
from chat_tui.errors import ConfigError
from chat_tui.providers.base import ChatRequest, PromptMessage, Provider, ToolSpec

__all__ = ["ChatRequest", "PromptMessage", "Provider", "ToolSpec", "make_provider"]


def make_provider(settings: Settings, environ: Mapping[str, str] = os.environ) -> Provider:
    """Build the provider the settings ask for (the demo when nothing is configured)."""
    kind = resolve_provider_kind(settings, environ)
    if kind == "demo":
        from chat_tui.providers.demo import DemoProvider

        return DemoProvider(tokens_per_second=settings.demo_speed)

    from chat_tui.providers.http import Secret

    default_env = "ANTHROPIC_API_KEY" if kind == "anthropic" else "OPENAI_API_KEY"
    key_env = settings.api_key_env or default_env
    key = Secret(environ.get(key_env, "") or settings.api_key)
    base_url = settings.base_url or (environ.get("OPENAI_BASE_URL", "") if kind == "openai" else "")
    if not key and not base_url:
        profile = f" (profile {settings.profile!r})" if settings.profile else ""
        raise ConfigError(
            f"No API key{profile}: set {key_env}, or use --base-url for a local server, or --provider demo."
        )
    common = dict(api_key=key, stall_timeout=settings.stall_timeout, headers=settings.extra_headers)
    if kind == "anthropic":
        from chat_tui.providers import anthropic

        return anthropic.AnthropicProvider(
            base_url=base_url or anthropic.DEFAULT_BASE_URL, model=settings.model or anthropic.DEFAULT_MODEL, **common
        )
    from chat_tui.providers import openai_compat

    return openai_compat.OpenAICompatProvider(
        base_url=base_url or openai_compat.DEFAULT_BASE_URL,
        model=settings.model or ("" if base_url else openai_compat.DEFAULT_MODEL),
        **common,
    )
