"""Ctrl+L (and "Switch model" in the command palette): choose the model of the
next answers: a configured profile, a model of the current server, or any name.

Model names come from the server: they are shown only through `sanitize` and
`Content`, never as markup.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from chat_tui.config import Settings, from_environment
from chat_tui.config_file import read_config_file
from chat_tui.engine import ChatEngine
from chat_tui.errors import ChatTuiError
from chat_tui.providers import make_provider
from chat_tui.providers.base import Provider
from chat_tui.sanitize import sanitize
from chat_tui.ui.widgets.header_bar import HeaderBar

MAX_NAME = 256
"""The longest model name the free-text field accepts."""

PROFILE_FIELDS = ("provider", "model", "base_url", "api_key_env", "api_key", "extra_headers", "prices", "profile")
"""What a profile decides; the rest of the settings stay as the app started."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileRow:
    name: str
    kind: str
    model: str


def configured_profiles(settings: Settings) -> tuple[list[ProfileRow], str]:
    """The config file's profiles (read again: it may have changed), and a problem
    reading it (one line; empty when none)."""
    if not settings.config_file:
        return [], ""
    try:
        file = read_config_file(Path(settings.config_file))
    except ChatTuiError as exc:
        return [], str(exc)
    if file is None:
        return [], ""
    return [ProfileRow(name, str(values.get("provider", "")), str(values.get("model", "")))
            for name, values in file.profiles.items()], ""


def profile_settings(settings: Settings, name: str, environ: Mapping[str, str]) -> Settings:
    """`settings` with the profile `name`'s provider, model, URL, key and prices,
    layered like `--profile NAME` (file, then environment) without the other flags."""
    file = read_config_file(Path(settings.config_file)) if settings.config_file else None
    chosen = from_environment(environ, file=file, profile=name)
    return dataclasses.replace(settings, **{f: getattr(chosen, f) for f in PROFILE_FIELDS})


def _current(text: str | Content) -> Content:
    return Content.assemble(text, ("  ● current", "$success"))


class ModelPickerScreen(ModalScreen[str | None]):
    """Dismissed with the new provider label, or None when nothing changed."""

    DEFAULT_CSS = """
    ModelPickerScreen { align: center middle; }
    ModelPickerScreen > Vertical {
        width: 90%; max-width: 100; height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ModelPickerScreen #heading { height: 1; margin-bottom: 1; }
    ModelPickerScreen OptionList, ModelPickerScreen OptionList:focus { height: 1fr; border: none; }
    ModelPickerScreen #status { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    ModelPickerScreen #status.-error { color: $error; }
    ModelPickerScreen #model-name { margin-top: 1; }
    ModelPickerScreen #keys { color: $text-muted; height: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("down", "focus_list", "To the list", show=False),  # from the name field (the list keeps its own)
    ]

    def __init__(self, engine: ChatEngine, *, environ: Mapping[str, str] = os.environ) -> None:
        super().__init__()
        self.engine = engine
        self.environ = environ
        self.models: list[str] | None = None
        """The current server's models; None while loading or after a failure."""
        self.profiles: list[ProfileRow] = []
        self._config_problem = ""
        """Why the config file could not be read (one line), if it could not."""
        self._filter = ""

    # -- the app's settings (a ChatApp has them; other apps run with the defaults) ------
    @property
    def settings(self) -> Settings:
        return getattr(self.app, "settings", None) or Settings()

    @settings.setter
    def settings(self, value: Settings) -> None:
        if hasattr(self.app, "settings"):
            self.app.settings = value  # type: ignore[attr-defined]

    @property
    def provider(self) -> Provider:
        return self.engine.provider

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="heading")
            yield OptionList(id="choices")
            yield Static(id="status")
            yield Input(placeholder="Any model name: Enter uses it (typing also narrows the list)",
                        max_length=MAX_NAME, id="model-name")
            yield Static("↑↓ choose · Enter switch · Tab model name · Esc close", id="keys")

    def on_mount(self) -> None:
        self.profiles, self._config_problem = configured_profiles(self.settings)
        if self._config_problem:
            self.notify(sanitize(self._config_problem), title="Config file", severity="error", markup=False, timeout=10)
        self._refresh()
        self.query_one(OptionList).focus()

    def _refresh(self) -> None:
        """Heading and list for the current provider; loads its models again."""
        self.query_one("#heading", Static).update(Content.assemble(
            ("Switch model", "bold"), ("   now: ", "$text-muted"), sanitize(self.provider.label)))
        self.models = None
        self._fill()
        self._status("Loading the server's models…")
        self.run_worker(self._load_models(self.provider), group="models", exclusive=True)

    async def _load_models(self, provider: Provider) -> None:
        list_models = getattr(provider, "list_models", None)
        try:
            models = await list_models() if list_models is not None else []
        except ChatTuiError as exc:
            if provider is self.provider:
                self._status(f"Could not list the models: {exc}", error=True)
                self._fill()
            return
        if provider is not self.provider:
            return
        self.models = models
        if models:
            self._status(f"{len(models):,} models on this server. Or type any name below.")
        else:
            self._status("This server does not list its models: type a name below.")
        self._fill()

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Content(sanitize(" ".join(text.split()))))
        status.set_class(error, "-error")

    # -- the list --------------------------------------------------------------------------
    def _matches(self, *texts: str) -> bool:
        return not self._filter or any(self._filter in t.lower() for t in texts)

    def _fill(self, *, keep: bool = False) -> None:
        """Profiles, then the server's models (those matching the typed text);
        the current model (else profile) highlighted, or with `keep` the same row."""
        option_list = self.query_one(OptionList)
        kept = option_list.highlighted_option.id if keep and option_list.highlighted_option is not None else None
        options: list[Option] = []
        current_profile = self.settings.profile
        profiles = [p for p in self.profiles if self._matches(p.name, p.kind, p.model)]
        if profiles or not (self.profiles or self._filter):
            options.append(Option(Content.styled("Profiles", "bold $accent"), disabled=True))
        if not (self.profiles or self._filter):
            if self._config_problem:
                text = "  Not read: the config file has an error (see the notice)."
                options.append(Option(Content.styled(text, "$error"), disabled=True))
            else:
                options.append(Option(Content.styled(
                    "  None configured: `chat-tui config init` writes a config file with examples.", "$text-muted"),
                    disabled=True))
        for p in profiles:
            row = Content.assemble(("  ", ""), (f"{sanitize(p.name):<18}", "bold"), " ",
                                   sanitize(f"{p.kind} · {p.model or 'its default model'}"))
            options.append(Option(_current(row) if p.name == current_profile else row, id=f"profile:{p.name}"))
        options.append(Option(Content.styled(f"Models of this server ({self.provider.name})", "bold $accent"),
                              disabled=True))
        for name in self.models or []:
            if self._matches(name):
                row = Content.assemble("  ", sanitize(name))
                options.append(Option(_current(row) if name == self.provider.model else row, id=f"model:{name}"))
        option_list.set_options(options)
        ids = [o.id for o in options]
        for wanted in (kept, f"model:{self.provider.model}", f"profile:{current_profile}"):
            if wanted is not None and wanted in ids:
                option_list.highlighted = ids.index(wanted)
                break
        else:
            first = next((i for i, o in enumerate(options) if not o.disabled), None)
            option_list.highlighted = first

    @on(Input.Changed, "#model-name")
    def narrow(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().lower()
        self._fill(keep=True)

    # -- choosing ---------------------------------------------------------------------------
    @on(OptionList.OptionSelected)
    async def chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "model":
            self.use_model(value)
        elif kind == "profile":
            await self.use_profile(value)

    @on(Input.Submitted, "#model-name")
    def typed(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.notify("Type a model name first.", severity="warning")
            return
        self.use_model(name)

    def use_model(self, name: str) -> None:
        """The current provider answers with `name` from the next request on."""
        self.provider.model = name
        self.settings = dataclasses.replace(self.settings, model=name)
        self._show_provider()
        self.dismiss(self.provider.label)

    async def use_profile(self, name: str) -> None:
        """A new provider built from the profile replaces the current one (closed)."""
        try:
            settings = profile_settings(self.settings, name, self.environ)
            provider = make_provider(settings, self.environ)
        except ChatTuiError as exc:
            self._status(f"Profile {name}: {exc}", error=True)
            return
        old, self.engine.provider = self.engine.provider, provider
        self.settings = settings
        await old.aclose()
        self._show_provider()
        if not provider.model:
            # A local server's profile may leave the model to the user: choose one here.
            self._refresh()
            self.notify(f"Profile {sanitize(name)} names no model: choose one of its server's, or type one.",
                        markup=False)
            return
        self.dismiss(provider.label)

    def _show_provider(self) -> None:
        """Every header shows the new provider and model at once."""
        demo = self.provider.name == "demo"
        for screen in self.app.screen_stack:
            for bar in screen.query(HeaderBar):
                bar.set_provider(self.provider.label)
                bar.set_demo(demo)
            if not demo:
                screen.query("#demo-hint").remove()

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
