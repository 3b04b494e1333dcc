"""Small helpers for driving the real app with Textual's pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll `predicate` until it is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def screen_ready(pilot: Any) -> None:
    """Wait until the chat screen is up: the app counts as ready (and a pilot
    starts) before its first screen has mounted its widgets and opened its
    conversation, which ends with the prompt focused."""
    from chat_tui.ui.widgets.prompt_input import PromptInput

    def prompt_focused() -> bool:
        prompts = pilot.app.screen.query(PromptInput)
        return bool(prompts) and pilot.app.focused is prompts.first()

    await wait_for(prompt_focused)
    await pilot.pause()


async def send(pilot: Any, text: str) -> None:
    """Type `text` into the chat screen's prompt and press Enter (once the
    screen is up, when it is not yet)."""
    from chat_tui.ui.widgets.prompt_input import PromptInput

    if not pilot.app.screen.query(PromptInput):
        await screen_ready(pilot)
    prompt = pilot.app.screen.prompt
    prompt.load_text(text)
    prompt.focus()
    await pilot.press("enter")
