"""The built-in tools: the calculator (an `ast` evaluator, no eval), the clock,
and file access confined to the working directory."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from chat_tui.domain import ToolCall
from chat_tui.engine.builtin_tools import (
    READ_CHUNK_BYTES,
    builtin_registry,
    calculate,
    format_number,
    list_entries,
    now_text,
    read_text,
    resolve_inside,
)
from chat_tui.engine.tools import ToolError


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("10 / 4", "2.5"),
        ("7 // 2", "3"),
        ("-7 % 3", "2"),
        ("2 ** 10", "1024"),
        ("2^10", "1024"),
        ("-3 ** 2", "-9"),
        ("--3", "3"),
        ("+4", "4"),
        ("0.1 + 0.2", "0.3"),
        ("sqrt(16) + abs(-2)", "6"),
        ("round(2.567, 2)", "2.57"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("factorial(10)", "3628800"),
        ("floor(pi)", "3"),
        ("log(e)", "1"),
        ("1.5e3 + 1", "1501"),
        ("12 × 3 ÷ 4", "9"),
    ],
)
def test_calculator_evaluates(expression: str, expected: str) -> None:
    assert format_number(calculate(expression)) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("open('x')", "not allowed"),
        ("(1).__class__", "not allowed"),
        ("x + 1", "unknown name"),
        ("[1, 2]", "not allowed"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j * 1j", "only numbers"),
        ("lambda: 1", "not allowed"),
        ("1 if 1 else 2", "not allowed"),
        ("1 << 3", "not allowed"),
        ("sqrt(x=4)", "not allowed"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("2 ** 100000", "too large"),
        ("10 ** 10 ** 1000", "too large"),
        ("10.0 ** 400", "too large"),
        ("1e308 * 10", "too large"),
        ("factorial(100000)", "limited"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("sqrt(-1)", "math error"),
        ("1 +", "not a valid expression"),
        ("", "empty"),
        ("1+" * 400 + "1", "longer than"),
    ],
)
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(ToolError) as info:
        calculate(expression)
    assert message in str(info.value).lower()


def test_calculator_never_uses_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert calculate("(1 + 2) * 3") == 9


def test_clock_in_a_time_zone_and_unknown_zone() -> None:
    moment = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert now_text("Europe/Paris", now=moment) == "Monday 2024-07-01T14:00:00+02:00 (CEST)"
    with pytest.raises(ToolError, match="Unknown time zone"):
        now_text("Mars/Olympus_Mons", now=moment)


# -- file access --------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with a file, a folder, and a secret file next to root (outside it)."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "notes.txt").write_text("hello notes\n")
    (root / "sub" / "deep.txt").write_text("deep\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    return root.resolve()


def test_reads_and_lists_inside_the_root(tree: Path) -> None:
    assert read_text(tree, "notes.txt") == "hello notes\n"
    assert read_text(tree, "sub/../notes.txt") == "hello notes\n"
    assert read_text(tree, str(tree / "sub" / "deep.txt")) == "deep\n"
    assert list_entries(tree, ".").splitlines() == ["notes.txt", "sub/"]
    assert list_entries(tree, "sub") == "deep.txt"


@pytest.mark.parametrize("path", ["../secret.txt", "sub/../../secret.txt", "..", "/etc/passwd", "~/x"])
def test_paths_outside_the_root_are_refused(tree: Path, path: str) -> None:
    with pytest.raises(ToolError, match="outside the working directory"):
        resolve_inside(tree, path)
    with pytest.raises(ToolError, match="outside the working directory"):
        read_text(tree, path)
    with pytest.raises(ToolError, match="outside the working directory"):
        list_entries(tree, path)


def test_symlink_escapes_are_refused(tree: Path) -> None:
    os.symlink(tree.parent / "secret.txt", tree / "link.txt")
    os.symlink(tree.parent, tree / "up")
    with pytest.raises(ToolError, match="outside the working directory"):
        read_text(tree, "link.txt")
    with pytest.raises(ToolError, match="outside the working directory"):
        read_text(tree, "up/secret.txt")
    with pytest.raises(ToolError, match="outside the working directory"):
        list_entries(tree, "up")


def test_symlink_inside_the_root_is_fine(tree: Path) -> None:
    os.symlink(tree / "sub" / "deep.txt", tree / "alias.txt")
    assert read_text(tree, "alias.txt") == "deep\n"


def test_large_file_is_read_in_chunks(tree: Path) -> None:
    (tree / "big.txt").write_text("x" * (READ_CHUNK_BYTES + 100))
    first = read_text(tree, "big.txt")
    assert first.startswith("x" * READ_CHUNK_BYTES)
    assert f"offset={READ_CHUNK_BYTES}" in first and "100 more bytes" in first
    assert read_text(tree, "big.txt", offset=READ_CHUNK_BYTES) == "x" * 100


def test_binary_missing_and_directory_are_clear_errors(tree: Path) -> None:
    (tree / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ToolError, match="binary"):
        read_text(tree, "blob.bin")
    with pytest.raises(ToolError, match="No such file"):
        read_text(tree, "missing.txt")
    with pytest.raises(ToolError, match="is a directory"):
        read_text(tree, "sub")


async def test_file_tools_through_the_registry(tree: Path) -> None:
    registry = builtin_registry(tree)
    ok = await registry.run(ToolCall("1", "read_file", '{"path": "notes.txt"}'))
    assert (ok.status, ok.result) == ("ok", "hello notes\n")
    refused = await registry.run(ToolCall("2", "read_file", '{"path": "../secret.txt"}'))
    assert refused.status == "error"
    assert "outside the working directory" in (refused.error or "")
    assert "TOP SECRET" not in (refused.error or "")
