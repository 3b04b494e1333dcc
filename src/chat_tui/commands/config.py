"""`chat-tui config path | check | init`."""

from __future__ import annotations

import argparse
import os
import sys

from chat_tui.errors import ChatTuiError
from chat_tui.sanitize import sanitize

EXAMPLE = '''\
# chat-tui configuration (TOML). Check it with `chat-tui config check`.
#
# What wins: command-line flags, then the environment (CHAT_TUI_*,
# OPENAI_API_KEY, OPENAI_BASE_URL), then this file, then the defaults.
# API keys do not belong here: `api_key_env` names the environment variable
# that holds one.

# The profile to use when neither --profile NAME nor CHAT_TUI_PROFILE says.
# Without one, chat-tui picks from the environment (else the offline demo).
# default_profile = "local"

# The system prompt of new conversations.
system_prompt = ""

# Screen updates per second while an answer streams (1-240).
frame_rate = 36

# Seconds without any data before a stream counts as stalled.
stall_timeout = 30

# A Textual theme ("textual-dark", "nord", "gruvbox", ...); empty: the default.
theme = ""

# One table per model you use: kind is openai (also every OpenAI-compatible
# server), anthropic or demo.
[profiles.openai]
kind = "openai"
model = "gpt-4.1-mini"
api_key_env = "OPENAI_API_KEY"
# Dollars per million tokens, to show what a conversation costs.
prices = { input = 0.40, output = 1.60 }

[profiles.claude]
kind = "anthropic"
model = "claude-sonnet-4-5"
api_key_env = "ANTHROPIC_API_KEY"

[profiles.local]
kind = "openai"
base_url = "http://localhost:11434/v1"
model = "llama3.2"

[profiles.openrouter]
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key_env = "OPENROUTER_API_KEY"
model = "meta-llama/llama-3.3-70b-instruct"
headers = { "X-Title" = "chat-tui" }

[profiles.demo]
kind = "demo"

# Automatic retries of failures that happen before the answer starts.
[retry]
attempts = 3
base_delay = 1.0    # seconds before the first retry, doubling each time
max_delay = 30.0

[tools]
enabled = true          # offer the model the built-in tools
timeout = 30            # seconds a tool call may run
allow_mutating = false  # offer tools that change things

# Tools from Model Context Protocol servers (each started as a subprocess).
# approval = true asks before each call.
# [[mcp_servers]]
# name = "files"
# command = "npx"
# args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
# env = {}
# approval = true

# Key bindings: action = "key" (Textual key names, e.g. "ctrl+n", "f5").
[keys]
# new_conversation = "ctrl+n"
# open_conversations = "ctrl+o"
'''


def run_config(args: argparse.Namespace) -> int:
    from chat_tui.paths import config_path

    path = config_path()
    if args.config_command == "path":
        print(sanitize(str(path)) if sys.stdout.isatty() else path)
        return 0
    if args.config_command == "init":
        return _init(path)
    return _check(args, path)


def _init(path: os.PathLike[str]) -> int:
    from pathlib import Path

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ChatTuiError(f"{path} already exists: it was left as it is (see `chat-tui config check`).") from None
    except OSError as exc:
        raise ChatTuiError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(EXAMPLE)
    print(f"Wrote an example config file to {path}")
    return 0


def _check(args: argparse.Namespace, path: os.PathLike[str]) -> int:
    from pathlib import Path

    from chat_tui.config import from_environment
    from chat_tui.config_file import read_config_file

    file = read_config_file(Path(path))
    if file is None:
        print(f"No config file at {path}: the defaults apply (`chat-tui config init` writes an example).")
        return 0
    settings = from_environment(file=file, profile=getattr(args, "profile", None))  # a bad --profile fails here
    for warning in file.warnings:
        print(f"chat-tui: warning: {sanitize(warning)}", file=sys.stderr)
    print(f"{path}: OK")
    profiles = []
    for name, values in sorted(file.profiles.items()):
        details = [values["provider"], *(values[k] for k in ("model", "base_url") if values.get(k))]
        profiles.append(f"{name} ({', '.join(details)})")
    print(f"profiles: {', '.join(profiles) or 'none'}")
    print(f"default profile: {file.default_profile or 'none (from the environment, else the demo)'}")
    if settings.profile and settings.profile != file.default_profile:
        print(f"profile in use: {settings.profile}")
    servers = [f"{s.name} ({s.command})" for s in file.values.get("mcp_servers", ())]
    print(f"MCP servers: {', '.join(servers) or 'none'}")
    return 0
