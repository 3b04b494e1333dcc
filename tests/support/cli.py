"""Run `python -m chat_tui` as a real subprocess with a private data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SCRUB = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY")


def cli_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # No keys from the developer's shell, and no PYTHONUNBUFFERED: the CLI must flush by itself.
    env = {k: v for k, v in os.environ.items()
           if k not in _SCRUB and k != "PYTHONUNBUFFERED" and not k.startswith("CHAT_TUI_")}
    # CHAT_TUI_CONFIG: a private config file (absent unless a test writes it), never the developer's.
    env.update({"CHAT_TUI_DATA_DIR": str(data_dir), "CHAT_TUI_DEMO_SPEED": "100000", "PYTHONIOENCODING": "utf-8",
                "CHAT_TUI_CONFIG": str(data_dir / "config.toml")})
    env.update(extra or {})
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chat_tui", *args]


def run_cli(data_dir: Path, *args: str, input: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, Any] = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(command(*args), env=cli_env(data_dir, env), check=False, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, **kwargs)


def one_line_error(result: subprocess.CompletedProcess[str], prefix: str = "chat-tui: ") -> str:
    """The error a command printed: exactly one line, starting with `prefix`, no
    traceback (argparse's own errors start "chat-tui COMMAND: error: ")."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]
