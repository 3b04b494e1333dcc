"""The bottom bar: drawn cell for cell as Textual's `Footer`, repainted (not
composed again) when the bindings change, and a click on a key presses it."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from chat_tui.ui.widgets.key_bar import KeyBar


class Keys(App[None]):
    BINDINGS = [
        Binding("escape", "stop", "Stop answer"),
        Binding("ctrl+n", "new", "New chat"),
        Binding("ctrl+o", "open", "Conversations"),
        Binding("f1", "help", "Help"),
        Binding("ctrl+x", "hidden", "Not shown", show=False),
    ]

    def __init__(self, bar: type[Footer] | type[KeyBar]) -> None:
        super().__init__()
        self.bar = bar
        self.state: dict[str, bool | None] = {}
        self.pressed: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield self.bar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.state.get(action, True)

    def action_stop(self) -> None:
        self.pressed.append("stop")

    def action_new(self) -> None:
        self.pressed.append("new")

    def action_help(self) -> None:
        self.pressed.append("help")


def bottom_row(app: App[object]) -> list[tuple[str, object]]:
    """The bottom row as it looks: each character and its style (a blank's
    background only; no mouse metadata)."""
    strip = app.screen._compositor.render_strips()[-1]
    cells = []
    for segment in strip:
        style = segment.style.clear_meta_and_links() if segment.style else None
        for character in segment.text:
            cells.append((character, style.bgcolor if character == " " and style else style))
    return cells


@pytest.mark.parametrize("state", [{}, {"stop": None}, {"stop": False, "open": None}])
async def test_the_bar_draws_what_textuals_footer_draws(state: dict[str, bool | None]) -> None:
    """Enabled, disabled (dim) and hidden keys, and the command palette's at the right."""
    rows = []
    for bar in (Footer, KeyBar):
        app = Keys(bar)
        app.state = state
        async with app.run_test(size=(90, 5)) as pilot:
            await pilot.pause()
            app.refresh_bindings()
            await pilot.pause()
            await pilot.pause()
            rows.append(bottom_row(app))
    footer, ours = rows
    assert "".join(c for c, _ in ours).startswith(" esc Stop answer " if "stop" not in state else " ")
    assert ours == footer


async def test_a_change_of_bindings_repaints_the_bar_without_a_layout(layouts: list[int]) -> None:
    app = Keys(KeyBar)
    async with app.run_test(size=(90, 5)) as pilot:
        await pilot.pause()
        assert "Stop answer" in "".join(c for c, _ in bottom_row(app))
        layouts.clear()
        app.state["stop"] = False
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert "Stop answer" not in "".join(c for c, _ in bottom_row(app))
        assert not layouts


async def test_a_click_on_a_key_presses_it() -> None:
    app = Keys(KeyBar)
    async with app.run_test(size=(90, 5)) as pilot:
        await pilot.pause()
        text = "".join(c for c, _ in bottom_row(app))
        await pilot.click(KeyBar, offset=(text.index(" f1 "), 0))  # its first cell
        await pilot.click(KeyBar, offset=(text.index("New chat") - 2, 0))
        await pilot.click(KeyBar, offset=(text.index("Help") + 10, 0))  # no key there
        await pilot.pause()
        assert app.pressed == ["help", "new"]
        app.state["stop"] = None  # shown, disabled: a click rings the bell
        app.refresh_bindings()
        await pilot.pause()
        await pilot.click(KeyBar, offset=(2, 0))
        await pilot.pause()
        assert app.pressed == ["help", "new"]


async def test_esc_shows_in_the_app_only_when_it_does_something(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Esc stops a streaming answer or cancels the edit of a message; otherwise
    its key is not shown (it still does nothing harmful)."""
    from chat_tui.config import Settings
    from chat_tui.providers.demo import DemoProvider
    from chat_tui.ui.app import ChatApp
    from tests.support.app import open_store
    from tests.support.pilot import send, wait_for

    app = ChatApp(store=open_store(tmp_path), provider=DemoProvider(tokens_per_second=40, first_token_delay=0),
                  settings=Settings(retries=0))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()

        def bar() -> str:
            return "".join(c for c, _ in bottom_row(app))

        assert "esc" not in bar() and "New chat" in bar()
        await send(pilot, "hello")
        await wait_for(lambda: app.screen._streaming_view is not None and "esc Stop answer" in bar())
        await pilot.press("escape")
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.pause()
        assert "esc" not in bar()
        await pilot.press("f2")  # edit the last message
        await wait_for(lambda: "esc Cancel edit" in bar())
        await pilot.press("escape")
        await wait_for(lambda: "esc" not in bar())
