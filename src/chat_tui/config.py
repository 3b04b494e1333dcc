"""Settings: defaults, then the config file, then the environment, then command-line flags.

`load_settings(environ, **flags)` reads the TOML config file (see
`chat_tui.config_file`), picks the profile (`--profile`, else
`CHAT_TUI_PROFILE`, else the file's `default_profile`) and lays the layers on
top of each other; `from_environment` does the same from an already read file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_tui.config_file import PROVIDER_KINDS, FileConfig, read_config_file
from chat_tui.errors import ConfigError

if TYPE_CHECKING:
    from chat_tui.engine.mcp import MCPServerConfig

__all__ = ["PROVIDER_KINDS", "Prices", "Settings", "from_environment", "load_settings", "resolve_provider_kind"]


@dataclass(frozen=True, slots=True)
class Prices:
    """What a model costs, in dollars per million tokens."""

    input: float
    """Per million prompt (input) tokens."""
    output: float
    """Per million completion (output) tokens."""

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        """Dollars for this many tokens (unknown counts count as 0)."""
        return ((prompt_tokens or 0) * self.input + (completion_tokens or 0) * self.output) / 1_000_000


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
    """HTTP headers sent with every request (a profile's `headers`)."""
    profile: str = ""
    """The config file profile in use; empty: none."""
    api_key: str = field(default="", repr=False)
    """A key written in the config file (only accepted from a file only its owner can read);
    the environment variable named by `api_key_env` wins over it."""
    prices: Prices | None = None
    """The profile's prices, to show what a conversation cost; None: unknown."""
    frame_rate: float = 36.0
    """Screen updates per second while an answer streams, at most: smooth for
    text, and each frame costs Textual a layout and a screen update (on a fast
    stream a few percent less CPU than at 40, a third less than at 60)."""
    retry_base_delay: float = 1.0
    """Seconds before the first automatic retry (doubling with each retry)."""
    retry_max_delay: float = 30.0
    """The longest wait between automatic retries."""
    tools_enabled: bool = True
    """Offer the model the built-in tools."""
    tool_timeout: float = 30.0
    """Seconds a tool call may run."""
    allow_mutating_tools: bool = False
    """Offer tools that change things without enabling each one."""
    mcp_servers: tuple[MCPServerConfig, ...] = ()
    """MCP servers whose tools to offer."""
    keys: dict[str, str] = field(default_factory=dict)
    """Key bindings to override: action name -> key (as Textual names keys, e.g. "ctrl+n")."""
    theme: str = ""
    """The Textual theme; empty: the default."""
    config_file: str = ""
    """The config file these settings were read from; empty: none was."""
    warnings: tuple[str, ...] = ()
    """Things the user should know about the configuration (one line each)."""


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


_ENV_STRINGS = {
    "provider": "CHAT_TUI_PROVIDER",
    "model": "CHAT_TUI_MODEL",
    "base_url": "CHAT_TUI_BASE_URL",
    "api_key_env": "CHAT_TUI_API_KEY_ENV",
    "system_prompt": "CHAT_TUI_SYSTEM_PROMPT",
    "theme": "CHAT_TUI_THEME",
}
_ENV_NUMBERS = (
    ("stall_timeout", "CHAT_TUI_STALL_TIMEOUT", float),
    ("retries", "CHAT_TUI_RETRIES", int),
    ("demo_speed", "CHAT_TUI_DEMO_SPEED", float),
    ("frame_rate", "CHAT_TUI_FRAME_RATE", float),
)


def _file_layer(file: FileConfig | None, profile: str) -> dict[str, Any]:
    """The config file's values, with the chosen profile's on top."""
    if not profile:
        return dict(file.values) if file else {}
    if file is None:
        raise ConfigError(f"No profile {profile!r}: there is no config file (`chat-tui config init` writes one).")
    if profile not in file.profiles:
        known = f"its profiles are {', '.join(sorted(file.profiles))}" if file.profiles else "it has no profiles"
        raise ConfigError(f"No profile {profile!r} in {file.path}: {known}.")
    values = {**file.values, **file.profiles[profile], "profile": profile}
    if "prices" in values:
        values["prices"] = Prices(**values["prices"])
    return values


def from_environment(
    environ: Mapping[str, str] = os.environ, *, file: FileConfig | None = None, **overrides: object
) -> Settings:
    """Settings from the config `file` (when given), then CHAT_TUI_* variables, then the overrides (flags)."""
    profile = str(overrides.pop("profile", None) or environ.get("CHAT_TUI_PROFILE") or (file.default_profile if file else ""))
    values = _file_layer(file, profile)
    if file is not None:
        values["config_file"] = str(file.path)
        values["warnings"] = file.warnings
    if values.get("base_url") and values.get("provider", "openai") == "openai" and environ.get("OPENAI_BASE_URL"):
        values["base_url"] = environ["OPENAI_BASE_URL"]  # the environment wins over the file
    for key, var in _ENV_STRINGS.items():
        if environ.get(var):
            values[key] = environ[var]
    for key, var, kind in _ENV_NUMBERS:
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
    if not 1 <= settings.frame_rate <= 240:
        raise ConfigError(f"The frame rate must be between 1 and 240 frames a second, not {settings.frame_rate!r}.")
    return settings


def load_settings(environ: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
    """Settings from the config file at `paths.config_path()`, the environment and the overrides (flags)."""
    from chat_tui.paths import config_path

    return from_environment(environ, file=read_config_file(config_path(environ)), **overrides)
