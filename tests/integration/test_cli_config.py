"""The config file through the real command: `config path/check/init`, profiles
reaching the provider (against the loopback server), what wins over the file,
and a bad file refused with one line (file and line number) and exit code 2."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from chat_tui.providers.demo import WELCOME
from tests.support.cli import one_line_error, run_cli
from tests.support.sse_server import SSETestServer, error_reply, openai_text_reply

SERVER_SCRIPT = str(Path(__file__).parent.parent / "support" / "mcp_test_server.py")


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"  # where tests.support.cli points CHAT_TUI_CONFIG
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_config_path_follows_chat_tui_config(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "config", "path")
    assert result.returncode == 0 and result.stdout == f"{tmp_path / 'config.toml'}\n"
    elsewhere = tmp_path / "elsewhere" / "my.toml"
    result = run_cli(tmp_path, "config", "path", env={"CHAT_TUI_CONFIG": str(elsewhere)})
    assert result.stdout == f"{elsewhere}\n"


def test_config_init_writes_a_private_valid_example_once(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    env = {"CHAT_TUI_CONFIG": str(path)}
    missing = run_cli(tmp_path, "config", "check", env=env)
    assert missing.returncode == 0 and "No config file" in missing.stdout

    created = run_cli(tmp_path, "config", "init", env=env)
    assert created.returncode == 0, created.stderr
    assert str(path) in created.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "[profiles." in text and "api_key_env" in text

    check = run_cli(tmp_path, "config", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[0] == f"{path}: OK"
    assert "local (openai, llama3.2, http://localhost:11434/v1)" in check.stdout
    assert "default profile: none" in check.stdout and "MCP servers: none" in check.stdout

    path.write_text(text + "\n# my own notes\n", encoding="utf-8")
    again = run_cli(tmp_path, "config", "init", env=env)
    assert again.returncode == 1
    assert "already exists" in one_line_error(again)
    assert path.read_text(encoding="utf-8").endswith("# my own notes\n")  # not overwritten


def test_config_check_summarises(tmp_path: Path) -> None:
    write_config(tmp_path, f"""
default_profile = "work"
[profiles.work]
kind = "anthropic"
model = "claude-x"
[profiles.home]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
[[mcp_servers]]
name = "calc"
command = {json.dumps(sys.executable)}
""")
    result = run_cli(tmp_path, "config", "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "profiles: home (openai, http://127.0.0.1:9/v1), work (anthropic, claude-x)"
    assert lines[2] == "default profile: work"
    assert lines[3] == f"MCP servers: calc ({sys.executable})"
    bad_profile = run_cli(tmp_path, "config", "check", "--profile", "play")
    assert bad_profile.returncode == 2 and "No profile 'play'" in one_line_error(bad_profile)


BAD_FILES = [
    ("toml syntax", 'theme = "nord"\n\nframe_rate = = 3\n', 3),
    ("unknown key", '[tools]\nenabled = true\nallow_mutation = true\n', 3),
    ("wrong type", 'system_prompt = "hi"\nstall_timeout = "30s"\n', 2),
    ("unknown profile kind", '[profiles.g]\nkind = "gemini"\n', 2),
    ("profile without kind", '[profiles.g]\nmodel = "m"\n', 1),
    ("bad default profile", '\ndefault_profile = "nope"\n', 2),
    ("bad mcp server", '[[mcp_servers]]\nname = "ok"\ncommand = "x"\n\n[[mcp_servers]]\nname = "has space"\ncommand = "y"\n', 6),
    ("key others can read", '[profiles.p]\nkind = "openai"\n# a comment\napi_key = "sk-secret"\n', 4),
]


@pytest.mark.parametrize(("text", "line"), [(t, n) for _, t, n in BAD_FILES], ids=[i for i, _, _ in BAD_FILES])
@pytest.mark.parametrize("command", [["list"], ["ask", "hi"], ["config", "check"]])
def test_a_bad_file_is_one_line_with_the_line_number_and_exit_2(
    tmp_path: Path, text: str, line: int, command: list[str]
) -> None:
    path = write_config(tmp_path, text, 0o644)
    result = run_cli(tmp_path, *command)
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = one_line_error(result)
    assert message.startswith(f"chat-tui: {path}, line {line}: "), message
    assert "sk-secret" not in message
    assert result.stdout == ""
    assert not (tmp_path / "chat.sqlite3").exists()  # refused before anything started


def test_a_profile_reaches_the_provider_and_flags_and_environment_win(tmp_path: Path, server: SSETestServer) -> None:
    write_config(tmp_path, f"""
default_profile = "srv"
[profiles.srv]
kind = "openai"
base_url = "{server.base_url}"
model = "file-model"
api_key_env = "SRV_KEY"
headers = {{ "X-Team" = "blue" }}
[profiles.other]
kind = "openai"
base_url = "{server.base_url}"
model = "other-model"
""")
    server.queue(*(openai_text_reply([f"answer {n}"]) for n in range(4)))
    env = {"SRV_KEY": "sk-srv"}
    assert run_cli(tmp_path, "ask", "hi", env=env).stdout == "answer 0\n"
    assert run_cli(tmp_path, "ask", "hi", env={**env, "CHAT_TUI_MODEL": "env-model"}).returncode == 0
    assert run_cli(tmp_path, "ask", "--model", "flag-model", "hi", env={**env, "CHAT_TUI_MODEL": "env-model"}).returncode == 0
    assert run_cli(tmp_path, "ask", "--profile", "other", "hi", env=env).returncode == 0
    first, other = server.requests[0], server.requests[3]
    assert [r.body["model"] for r in server.requests] == ["file-model", "env-model", "flag-model", "other-model"]
    assert first.headers["authorization"] == "Bearer sk-srv" and first.headers["x-team"] == "blue"
    assert "authorization" not in other.headers and "x-team" not in other.headers


def test_a_key_in_a_private_file_is_used_with_one_warning(tmp_path: Path, server: SSETestServer) -> None:
    write_config(tmp_path, f'default_profile = "p"\n[profiles.p]\nkind = "openai"\nbase_url = "{server.base_url}"\n'
                           'model = "m"\napi_key = "sk-from-file"\n', 0o600)
    server.queue(openai_text_reply(["ok"]))
    result = run_cli(tmp_path, "ask", "hi")
    assert result.returncode == 0 and result.stdout == "ok\n"
    warning = one_line_error(result)
    assert warning.startswith("chat-tui: warning: ") and "line 6" in warning and "sk-from-file" not in warning
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-file"


def test_retry_and_tools_settings_of_the_file_apply_to_ask(tmp_path: Path, server: SSETestServer) -> None:
    write_config(tmp_path, f'default_profile = "p"\n[profiles.p]\nkind = "openai"\nbase_url = "{server.base_url}"\n'
                           'model = "m"\n[retry]\nattempts = 0\n[tools]\nenabled = false\n')
    server.queue(error_reply(503, "busy"), openai_text_reply(["unused"]))
    result = run_cli(tmp_path, "ask", "hi")
    assert result.returncode == 1
    assert len(server.requests) == 1  # no retry
    assert not server.requests[0].body.get("tools")  # no built-in tools offered


@pytest.mark.slow
def test_mcp_servers_of_the_file_are_offered_by_ask(tmp_path: Path, server: SSETestServer) -> None:
    pytest.importorskip("mcp")
    write_config(tmp_path, f"""
default_profile = "p"
[profiles.p]
kind = "openai"
base_url = "{server.base_url}"
model = "m"
[tools]
enabled = false
[[mcp_servers]]
name = "calc"
command = {json.dumps(sys.executable)}
args = [{json.dumps(SERVER_SCRIPT)}]
approval = false
""")
    server.queue(openai_text_reply(["ok"]))
    result = run_cli(tmp_path, "ask", "hi", timeout=60)
    assert result.returncode == 0, result.stderr
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert {"calc__add", "calc__shout", "calc__fail"} <= offered


def test_demo_profile_and_theme_and_keys_do_not_disturb_ask(tmp_path: Path) -> None:
    write_config(tmp_path, 'default_profile = "d"\ntheme = "nord"\n[profiles.d]\nkind = "demo"\n'
                           '[keys]\nnew_conversation = "ctrl+t"\n')
    result = run_cli(tmp_path, "ask", "hello", env={"OPENAI_API_KEY": "sk-not-used"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == WELCOME + "\n"  # the profile's demo, not the key in the environment
