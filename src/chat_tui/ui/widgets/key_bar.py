"""The bottom bar: the keys that work here, drawn as Textual's `Footer` draws them.

One widget drawing one line. Textual's footer is a container of a widget per
key (six here), all placed again at every layout (at every new line of a
growing answer), and composed anew whenever the bindings change (four to five
times while the app starts, ~8 ms each). This bar repaints its line instead,
and a click on a key presses it, as on Textual's.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events

from chat_tui.ui.widgets.one_line import OneLineBar

if TYPE_CHECKING:
    from textual.screen import Screen


class KeyBar(OneLineBar, can_focus=False):
    ALLOW_SELECT = False
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .key-bar--separator {
        color: $foreground 20%;
    }
    """
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--separator"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, bool]] = []
        """(first cell, end cell, key, enabled) of each key as last drawn, for clicks."""
        self._descriptions: dict[str, str | None] = {}
        """Actions shown with another description than their binding's (None: not shown)."""
        self._bindings_changes = 0

    def describe(self, action: str, description: str | None) -> None:
        """Show `action`'s key with `description` (None: not at all), whatever
        its binding says; the key works either way. A repaint, not a layout."""
        if self._descriptions.get(action, "") != description:
            self._descriptions[action] = description
            self.refresh()

    def undescribe(self, action: str) -> None:
        """Show `action`'s key as its binding says again."""
        if self._descriptions.pop(action, "") != "":
            self.refresh()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_changes += 1
        self.refresh()

    def line_key(self) -> Hashable:
        # The keys and whether each is enabled are what Textual's footer shows
        # too: read again when the screen says its bindings changed.
        return (self._bindings_changes, tuple(self._descriptions.items()))

    def keys(self) -> tuple[list[tuple[str, str, str, bool]], tuple[str, str, str, bool] | None]:
        """(key, how it is shown, description, enabled) of each key shown, one
        per action, and the command palette's (shown at the right)."""
        app = self.app
        shown: dict[str, tuple[str, str, str, bool]] = {}
        active = self.screen.active_bindings
        described = self._descriptions
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in shown:
                description = described.get(binding.action, binding.description)
                if description is not None:
                    shown[binding.action] = (binding.key, app.get_key_display(binding), description, enabled)
        palette = None
        if app.ENABLE_COMMAND_PALETTE and (entry := active.get(app.COMMAND_PALETTE_BINDING)) is not None:
            _node, binding, enabled, _tooltip = entry
            palette = (binding.key, app.get_key_display(binding), binding.description, enabled)
            shown.pop(binding.action, None)
        return list(shown.values()), palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        dim = Style(dim=True)  # a key that does nothing here (Textual's footer dims it)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str, bool]] = []
        keys, palette = self.keys()
        for key, display, description, enabled in keys:
            start = line.cell_len
            extra = None if enabled else dim
            line.append(f" {display} ", key_style + extra if extra else key_style)
            if description:
                line.append(f"{description} ", description_style + extra if extra else description_style)
            spans.append((start, line.cell_len, key, enabled))
        if palette is not None:
            key, display, description, enabled = palette
            width = 1 + cell_len(display) + (1 + cell_len(description) if description else 0) + 1
            room = self.size.width - line.cell_len - width
            if room >= 0:
                line.append(" " * room)
                line.append("▏", self.get_component_rich_style("key-bar--separator"))
                start = line.cell_len
                line.append(display, key_style)
                if description:
                    line.append(f" {description}", description_style)
                line.append(" ")
                spans.append((start, line.cell_len, key, enabled))
        self._spans = spans
        line.truncate(self.size.width, overflow="crop")
        return line

    def on_mouse_down(self, event: events.MouseDown) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                event.stop()
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
