"""Starting the app parses its options without building the commands' parsers:
the result must be what the whole parser gives."""

from __future__ import annotations

import pytest

from chat_tui.cli import _names_a_command, build_parser


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--continue"],
        ["--resume=3"],
        ["--model=gpt-4o-mini", "--base-url=http://127.0.0.1:11434/v1", "--stall-timeout=5"],
        ["--provider=demo", "--system=Be brief.", "--data-dir=/tmp/x", "--profile=local"],
    ],
)
def test_the_app_options_parse_alike_without_the_commands(argv: list[str]) -> None:
    assert not _names_a_command(argv)
    assert vars(build_parser(commands=False).parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv", [["ask", "hi"], ["--model", "gpt-4o"], ["list"], ["-h"], ["--help"], ["--continue", "search", "x"]]
)
def test_a_word_or_help_gets_the_whole_parser(argv: list[str]) -> None:
    assert _names_a_command(argv)


def test_an_unknown_option_is_the_same_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    errors = []
    for commands in (False, True):
        with pytest.raises(SystemExit) as exit_info:
            build_parser(commands=commands).parse_args(["--no-such-option"])
        assert exit_info.value.code == 2
        errors.append(capsys.readouterr().err)
    assert errors[0] == errors[1]
    assert errors[0].count("\n") == 1 and "--no-such-option" in errors[0]
