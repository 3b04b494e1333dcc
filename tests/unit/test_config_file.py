"""The TOML config file: what it sets, what wins over it, and how a bad one is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chat_tui.commands.config import EXAMPLE
from chat_tui.config import Prices, Settings, from_environment, load_settings
from chat_tui.config_file import key_lines, read_config_file
from chat_tui.errors import ConfigError

FULL = """\
default_profile = "local"
system_prompt = "Be brief."
frame_rate = 30
stall_timeout = 12.5
theme = "nord"

[profiles.local]
kind = "openai"
base_url = "http://localhost:11434/v1"
model = "llama3.2"
headers = { "X-Team" = "blue" }
prices = { input = 0.5, output = 1.5 }

[profiles.claude]
kind = "anthropic"
api_key_env = "WORK_ANTHROPIC_KEY"
model = "claude-x"

[retry]
attempts = 5
base_delay = 0.25
max_delay = 4

[tools]
enabled = false
timeout = 7
allow_mutating = true

[[mcp_servers]]
name = "files"
command = "files-server"
args = ["--root", "."]
env = { LEVEL = "debug" }
approval = "never"

[[mcp_servers]]
name = "web"
command = "web-server"

[keys]
new_conversation = "ctrl+t"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def settings(path: Path, environ: dict[str, str] | None = None, **flags: object) -> Settings:
    return load_settings({"CHAT_TUI_CONFIG": str(path), **(environ or {})}, **flags)


def test_every_setting_of_the_file_arrives(tmp_path: Path) -> None:
    s = settings(write(tmp_path, FULL))
    assert (s.profile, s.provider, s.base_url, s.model) == ("local", "openai", "http://localhost:11434/v1", "llama3.2")
    assert s.extra_headers == {"X-Team": "blue"}
    assert s.prices == Prices(input=0.5, output=1.5)
    assert (s.system_prompt, s.frame_rate, s.stall_timeout, s.theme) == ("Be brief.", 30.0, 12.5, "nord")
    assert (s.retries, s.retry_base_delay, s.retry_max_delay) == (5, 0.25, 4.0)
    assert (s.tools_enabled, s.tool_timeout, s.allow_mutating_tools) == (False, 7.0, True)
    assert s.keys == {"new_conversation": "ctrl+t"}
    files, web = s.mcp_servers
    assert (files.name, files.command, files.args, files.env, files.approval) == (
        "files", "files-server", ("--root", "."), {"LEVEL": "debug"}, False)
    assert (web.name, web.command, web.approval) == ("web", "web-server", True)
    assert s.config_file == str(tmp_path / "config.toml")
    assert s.warnings == ()


def test_another_profile_by_flag_or_environment(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    by_flag = settings(path, profile="claude")
    by_env = settings(path, {"CHAT_TUI_PROFILE": "claude"})
    for s in (by_flag, by_env):
        assert (s.profile, s.provider, s.api_key_env, s.model, s.base_url) == (
            "claude", "anthropic", "WORK_ANTHROPIC_KEY", "claude-x", "")
        assert s.prices is None and s.extra_headers == {}
        assert s.system_prompt == "Be brief."  # the top level applies to every profile
    assert settings(path, {"CHAT_TUI_PROFILE": "claude"}, profile="local").profile == "local"  # the flag wins


def test_precedence_flags_then_environment_then_file_then_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    assert settings(path).model == "llama3.2"
    assert settings(path, {"CHAT_TUI_MODEL": "env-model"}).model == "env-model"
    assert settings(path, {"CHAT_TUI_MODEL": "env-model"}, model="flag-model").model == "flag-model"
    assert settings(path, {"CHAT_TUI_STALL_TIMEOUT": "99"}).stall_timeout == 99.0
    assert settings(path, {"CHAT_TUI_STALL_TIMEOUT": "99"}, stall_timeout=3.0).stall_timeout == 3.0
    assert settings(path, {"CHAT_TUI_RETRIES": "0"}).retries == 0
    assert settings(path, {"CHAT_TUI_SYSTEM_PROMPT": "env"}, system_prompt="flag").system_prompt == "flag"
    assert settings(path, {"OPENAI_BASE_URL": "http://env.example/v1"}).base_url == "http://env.example/v1"
    assert settings(path, {"OPENAI_BASE_URL": "http://env.example/v1"},
                    base_url="http://flag.example/v1").base_url == "http://flag.example/v1"
    # Without a file: the defaults.
    bare = load_settings({"CHAT_TUI_CONFIG": str(tmp_path / "absent.toml")})
    assert bare == Settings() and bare.config_file == ""


def test_openai_base_url_does_not_redirect_an_anthropic_profile(tmp_path: Path) -> None:
    text = FULL.replace('api_key_env = "WORK_ANTHROPIC_KEY"', 'base_url = "https://proxy.example/anthropic"')
    s = settings(write(tmp_path, text), {"OPENAI_BASE_URL": "http://env.example/v1"}, profile="claude")
    assert s.base_url == "https://proxy.example/anthropic"


def test_the_key_comes_from_the_variable_the_profile_names(tmp_path: Path) -> None:
    from chat_tui.providers import make_provider

    s = settings(write(tmp_path, FULL), profile="claude")
    provider = make_provider(s, {"WORK_ANTHROPIC_KEY": "sk-ant-work", "ANTHROPIC_API_KEY": "sk-ant-other"})
    assert (provider.name, provider.model) == ("anthropic", "claude-x")
    with pytest.raises(ConfigError, match="No API key .profile 'claude'.: set WORK_ANTHROPIC_KEY"):
        make_provider(s, {"ANTHROPIC_API_KEY": "sk-ant-other"})


def test_an_api_key_in_a_private_file_is_used_with_a_warning(tmp_path: Path) -> None:
    text = FULL.replace('api_key_env = "WORK_ANTHROPIC_KEY"', 'api_key = "sk-in-file"')
    s = settings(write(tmp_path, text, 0o600), profile="claude")
    assert s.api_key == "sk-in-file"
    assert "sk-in-file" not in repr(s)
    (warning,) = s.warnings
    line = text.splitlines().index('api_key = "sk-in-file"') + 1
    assert f"line {line}:" in warning and "api_key_env" in warning


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_an_api_key_in_a_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    text = FULL.replace('api_key_env = "WORK_ANTHROPIC_KEY"', 'api_key = "sk-in-file"')
    with pytest.raises(ConfigError) as info:
        settings(write(tmp_path, text, mode))
    line = text.splitlines().index('api_key = "sk-in-file"') + 1
    message = str(info.value)
    assert f"line {line}:" in message and f"{mode:04o}" in message and "chmod 600" in message
    assert "sk-in-file" not in message


def test_unknown_profiles_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No profile 'nope' in .*: its profiles are claude, local"):
        settings(write(tmp_path, FULL), profile="nope")
    with pytest.raises(ConfigError, match="No profile 'x': there is no config file"):
        load_settings({"CHAT_TUI_CONFIG": str(tmp_path / "absent.toml"), "CHAT_TUI_PROFILE": "x"})


def test_without_default_profile_the_environment_decides(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('default_profile = "local"\n', ""))
    s = settings(path)
    assert (s.profile, s.provider, s.model) == ("", "", "")
    assert s.system_prompt == "Be brief."


def test_the_example_files_are_valid(tmp_path: Path) -> None:
    example = read_config_file(write(tmp_path, EXAMPLE))
    assert example is not None and {"openai", "claude", "local", "demo"} <= set(example.profiles)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration"):]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    documented = read_config_file(write(tmp_path, block.group(1)))
    assert documented is not None and documented.profiles and documented.values.get("mcp_servers")
    assert documented.default_profile in documented.profiles


def test_key_lines_finds_tables_arrays_and_dotted_keys() -> None:
    text = '# c\n[a]\nx = 1\n"q.k" = 2\n[[s]]\nn = "a"\n[[s]]\nn = """\nfake = 1\n"""\n[s.env]\nK = "v"\nb.c = 3\n'
    lines = key_lines(text)
    assert lines[("a",)] == 2 and lines[("a", "x")] == 3 and lines[("a", "q.k")] == 4
    assert lines[("s", 0, "n")] == 6 and lines[("s", 1)] == 7 and lines[("s", 1, "n")] == 8
    assert ("s", 1, "fake") not in lines  # inside a multi-line string
    assert lines[("s", 1, "env", "K")] == 12 and lines[("s", 1, "env", "b", "c")] == 13


def test_settings_stay_frozen_and_documented() -> None:
    import dataclasses

    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.theme = "x"  # type: ignore[misc]
    source = Path(__file__).parents[2].joinpath("src", "chat_tui", "config.py").read_text(encoding="utf-8")
    for f in ("profile", "prices", "frame_rate", "retry_base_delay", "retry_max_delay", "tools_enabled",
              "tool_timeout", "allow_mutating_tools", "mcp_servers", "keys", "theme", "config_file", "warnings"):
        assert re.search(rf"\n    {f}: .*\n    \"\"\"", source), f"{f} has no docstring"


def test_prices_cost() -> None:
    assert Prices(input=2.0, output=8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)
    assert Prices(input=2.0, output=8.0).cost(None, 1000) == pytest.approx(0.008)


# -- a bad file: one line with the file and the line, exit code 2 ------------------------
BAD = [
    # (file text, the line the message must name, words the message must hold)
    ('theme = "x"\nstall_timeout = \n', 2, "not valid TOML"),
    ('[profiles.a]\nkind = "openai"\nkind = "demo"\n', 3, "not valid TOML"),
    ('theme = "x"\ncolour = "red"\n', 2, "unknown key 'colour'"),
    ('[tools]\nenabled = true\n\ntimout = 3\n', 4, "unknown key 'timout' in [tools]"),
    ('[profiles.a]\nkind = "openai"\nmodle = "m"\n', 3, "unknown key 'modle' in [profiles.a]"),
    ('[[mcp_servers]]\nname = "a"\ncommand = "x"\nargv = []\n', 4, "unknown key 'argv' in [[mcp_servers]]"),
    ('frame_rate = 60\nstall_timeout = "soon"\n', 2, "'stall_timeout' must be a number, not a string"),
    ('[retry]\nattempts = 2.5\n', 2, "'retry.attempts' must be an integer"),
    ('[tools]\nenabled = "yes"\n', 2, "'tools.enabled' must be true or false"),
    ('[keys]\nnew_conversation = 5\n', 2, "'keys' must be a table"),
    ('theme = "a"\n[profiles.p]\nmodel = "m"\n', 2, "needs a kind"),
    ('\n[profiles.p]\nkind = "gemini"\n', 3, "unknown profile kind 'gemini'"),
    ('[profiles.p]\nkind = "openai"\nheaders = { "X-A" = "b\\r\\nEvil: 1" }\n', 3, "one-line strings"),
    ('[profiles.p]\nkind = "openai"\nbase_url = "localhost:11434"\n', 3, "http:// or https:// URL"),
    ('[profiles.p]\nkind = "openai"\napi_key_env = "sk-abc-123"\n', 3, "name of an environment variable"),
    ('default_profile = "q"\n[profiles.p]\nkind = "demo"\n', 1, "default_profile 'q' is not a profile"),
    ('[[mcp_servers]]\nname = "a"\ncommand = "x"\n[[mcp_servers]]\nname = "a"\ncommand = "y"\n', 5,
     "two MCP servers named 'a'"),
    ('[[mcp_servers]]\nname = "a"\n', 1, "needs a command"),
    ('[[mcp_servers]]\nname = "a"\ncommand = "x"\n[mcp_servers.env]\nA = 1\n', 5, "'mcp_servers[1].env'"),
    ('stall_timeout = 0\n', 1, "'stall_timeout' must be above 0"),
    ('frame_rate = inf\n', 1, "'frame_rate' must be at least 1"),
]


@pytest.mark.parametrize(("text", "line", "needle"), BAD)
def test_a_bad_file_names_the_file_and_the_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert needle in message, message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_a_file_that_is_not_text_or_not_readable(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'theme = "x"\n\xff\xfe = 1\n')
    with pytest.raises(ConfigError, match=r"line 2: the config file is not UTF-8"):
        settings(path)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        settings(folder)


def test_from_environment_alone_ignores_the_file(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    s = from_environment({"CHAT_TUI_CONFIG": str(tmp_path / "config.toml")})
    assert s.profile == "" and s.model == "" and s.config_file == ""
