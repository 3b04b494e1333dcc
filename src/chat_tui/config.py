"""Settings: defaults, then the environment, then command-line flags.

(The TOML config file joins this chain as its own layer; see README.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from chat_tui.errors import ConfigError

PROVIDER_KINDS = ("openai", "anthropic", "demo")


@dataclass(frozen=True, slots=True)
class Settings:
    provider: str = ""
    """openai | anthropic | demo; empty: choose from what is configured."""
    model: str = ""
    """Model name; empty: the provider's default (or the server's first model)."""
    base_url: str = ""
    """Base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1."""
    api_key_env: str = ""
    """The environment variable holding the API key."""
    data_dir: str = ""
    """Where the database lives; empty: the platform's user data dir."""
    system_prompt: str = ""
    stall_timeout: float = 30.0
    """Seconds without any data before a stream counts as stalled."""
    retries: int = 3
    """Automatic retries of failures before the first token."""
    demo_speed: float = 60.0
    """Tokens per second of the demo provider."""
    extra_headers: dict[str, str] = field(default_factory=dict)


def resolve_provider_kind(settings: Settings, environ: Mapping[str, str] = os.environ) -> str:
    """Which provider to use: the explicit one, else what the environment configures, else demo."""
    if settings.provider:
        if settings.provider not in PROVIDER_KINDS:
            raise ConfigError(f"Unknown provider {settings.provider!r}: use one of {', '.join(PROVIDER_KINDS)}.")
        return settings.provider
    if settings.base_url or environ.get("OPENAI_BASE_URL"):
        return "openai"
    if settings.api_key_env and environ.get(settings.api_key_env):
        return "anthropic" if "ANTHROPIC" in settings.api_key_env.upper() else "openai"
    if environ.get("OPENAI_API_KEY"):
        return "openai"
    if environ.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    return "demo"


def from_environment(environ: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
    """Settings from CHAT_TUI_* variables, then the given overrides (flags) on top."""
    values: dict[str, object] = {}
    env_map = {
        "provider": "CHAT_TUI_PROVIDER",
        "model": "CHAT_TUI_MODEL",
        "base_url": "CHAT_TUI_BASE_URL",
        "system_prompt": "CHAT_TUI_SYSTEM_PROMPT",
    }
    for key, var in env_map.items():
        if environ.get(var):
            values[key] = environ[var]
    for key, var, kind in (("stall_timeout", "CHAT_TUI_STALL_TIMEOUT", float), ("retries", "CHAT_TUI_RETRIES", int),
                           ("demo_speed", "CHAT_TUI_DEMO_SPEED", float)):
        if environ.get(var):
            try:
                values[key] = kind(environ[var])
            except ValueError:
                raise ConfigError(f"{var}={environ[var]!r} is not a number.") from None
    values.update({k: v for k, v in overrides.items() if v not in (None, "")})
    settings = Settings(**values)  # type: ignore[arg-type]
    if not 0 < settings.stall_timeout < 1e6:  # also rejects nan and inf
        raise ConfigError(f"The stall timeout must be a number of seconds above 0, not {settings.stall_timeout!r}.")
    if settings.retries < 0:
        raise ConfigError(f"The number of retries must be 0 or more, not {settings.retries!r}.")
    return settings
