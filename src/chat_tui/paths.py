"""Where chat-tui keeps its files. Pure functions: nothing is created at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "chat-tui"


def data_dir(environ: Mapping[str, str] = os.environ, override: str | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    if env := environ.get("CHAT_TUI_DATA_DIR"):
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def db_path(directory: Path) -> Path:
    return directory / "chat.sqlite3"


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    if env := environ.get("CHAT_TUI_CONFIG"):
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
