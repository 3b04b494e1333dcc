"""The top bar: app name, conversation title, provider and model (and a clear DEMO badge).

One widget drawing one line (it was a row of five): a new title, new totals or
another model repaint the line, where each asked for a layout of the whole
screen, at the start and at the end of every answer; and each layout, at every
frame of a growing answer, had five widgets fewer to place.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from chat_tui.sanitize import sanitize
from chat_tui.ui.widgets.one_line import OneLineBar

APP_NAME = "chat-tui"
NO_TITLE = "New conversation"
DEMO_BADGE = "DEMO · no API key set"


class HeaderBar(OneLineBar):
    ALLOW_SELECT = False  # (nothing to copy in a title bar)
    DEFAULT_CSS = """
    HeaderBar {
        height: 1;
        dock: top;
        background: $panel;
        padding: 0 1;
    }
    HeaderBar > .header-bar--app-name { text-style: bold; color: $accent; }
    HeaderBar > .header-bar--title { color: $text-muted; }
    HeaderBar > .header-bar--totals { color: $text-muted; }
    HeaderBar > .header-bar--demo-badge { background: $warning; color: $background; text-style: bold; }
    """
    COMPONENT_CLASSES = {"header-bar--app-name", "header-bar--title", "header-bar--totals", "header-bar--demo-badge"}
    TITLE_PADDING = 2
    """Cells on each side of the title."""
    TOTALS_MARGIN = 2
    """Cells between the totals and the provider."""

    def __init__(self, provider_label: str, *, demo: bool) -> None:
        super().__init__()
        self.provider_label = sanitize(provider_label)
        self.demo = demo
        self.title = NO_TITLE
        self.totals = ""

    def set_title(self, title: str) -> None:
        self._show(title=sanitize(title) or NO_TITLE)

    def set_totals(self, totals: str) -> None:
        self._show(totals=totals)

    def set_provider(self, label: str) -> None:
        self._show(provider_label=sanitize(label))

    def set_demo(self, demo: bool) -> None:
        """Show or hide the DEMO badge."""
        self._show(demo=demo)

    def _show(self, **parts: object) -> None:
        """Set parts of the line; repaint it if one changed (each answer sets
        the title again, mostly to what it was)."""
        if any(getattr(self, name) != value for name, value in parts.items()):
            for name, value in parts.items():
                setattr(self, name, value)
            self.refresh()

    def line_key(self) -> Hashable:
        return (self.title, self.totals, self.provider_label, self.demo)

    def render(self) -> Text:
        # Laid out as the row of widgets was: the name, the title taking the
        # room left (cut with an ellipsis), the totals, the provider, the badge.
        # Narrower than all that, the title goes first, then the totals, then
        # the provider is cut: the name and the DEMO badge always show.
        style = self.get_component_rich_style
        width = self.size.width
        badge: list[tuple[str, Style | str]] = (
            [(" ", ""), (f" {DEMO_BADGE} ", style("header-bar--demo-badge"))] if self.demo else []
        )
        fixed = cell_len(APP_NAME) + sum(cell_len(text) for text, _ in badge)
        provider = self.provider_label
        totals: list[tuple[str, Style | str]] = []
        if fixed + cell_len(provider) + self.TOTALS_MARGIN + cell_len(self.totals) <= width:
            totals = [(self.totals, style("header-bar--totals")), (" " * self.TOTALS_MARGIN, "")]
        room = width - fixed - cell_len(provider) - sum(cell_len(text) for text, _ in totals)
        if room < 1 and provider:
            # (A cell at least between the name and the provider.)
            keep = cell_len(provider) + room - 1
            cut = Text(provider, no_wrap=True, end="")
            cut.truncate(keep, overflow="ellipsis")  # (Rich's ellipsis needs room for a cell before it)
            provider = cut.plain if keep >= 2 else ""
            room = width - fixed - cell_len(provider)
        title_width = max(0, room - 2 * self.TITLE_PADDING)
        if title_width >= 4:
            title = Text(self.title, no_wrap=True, overflow="crop", end="")
            title.truncate(title_width, overflow="ellipsis")
            title.pad_right(title_width - title.cell_len)
            parts: list[tuple[str, Style | str] | str] = [
                " " * self.TITLE_PADDING, (title.plain, style("header-bar--title")), " " * self.TITLE_PADDING,
            ]
        else:
            parts = [" " * max(0, room)]  # no room for a title worth reading: the rest at the right edge
        line = Text.assemble(
            (APP_NAME, style("header-bar--app-name")),
            *parts,
            *totals,
            (provider, ""),
            *badge,
            no_wrap=True,
            overflow="crop",
            end="",
        )
        line.truncate(width, overflow="crop")
        return line
