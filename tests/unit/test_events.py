"""Stream and turn events compare, show and match like the dataclasses they replace."""

from __future__ import annotations

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine.events import TurnEnded
from chat_tui.providers.events import Finished, ReasoningDelta, TextDelta, ToolCallEnded


def test_equal_by_type_and_fields() -> None:
    assert TextDelta("a") == TextDelta("a")
    assert TextDelta("a") != TextDelta("b")
    assert TextDelta("a") != ReasoningDelta("a")  # same fields, another kind of event
    assert Finished("stop") == Finished("stop", done=True) != Finished("stop", done=False)
    assert TextDelta("a") != "a"


def test_repr_names_every_field() -> None:
    assert repr(ToolCallEnded(0, "call_1", "calc", "{}")) == (
        "ToolCallEnded(index=0, id='call_1', name='calc', arguments='{}', server=False)")


def test_unhashable_and_slotted() -> None:
    with pytest.raises(TypeError):
        hash(TextDelta("a"))
    with pytest.raises(AttributeError):
        TextDelta("a").other = 1  # type: ignore[attr-defined]


def test_pattern_matching_by_position_and_name() -> None:
    match ToolCallEnded(2, "id", "calc", '{"x": 1}'):
        case ToolCallEnded(index, call_id, name=name, arguments=arguments):
            assert (index, call_id, name, arguments) == (2, "id", "calc", '{"x": 1}')
        case _:
            pytest.fail("no match")


def test_turn_ended_lists_are_its_own() -> None:
    first, second = TurnEnded(1, MessageStatus.COMPLETE), TurnEnded(2, MessageStatus.COMPLETE)
    first.message_ids.append(1)
    assert second.message_ids == [] and second.tool_calls == []
