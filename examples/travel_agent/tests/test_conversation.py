"""Whole messages through the entrypoint, with the model's decisions scripted (fake_model)."""

from __future__ import annotations

from typing import Any

from conftest import FakeModel
from travel_agent import model
from travel_agent.app import STATE_SCHEMA, handle, migrate


def test_text_answers_are_passed_through(fake_model: FakeModel) -> None:
    fake_model.says("Hello! Where to?")
    reply = handle({"text": "hi", "date": "2024-06-28"}, {})
    assert reply == {"intent": "chat", "text": "Hello! Where to?", "data": {}}


def test_a_tool_call_is_run_by_the_harness(fake_model: FakeModel) -> None:
    fake_model.calls("search_flights", origin="LIS", destination="MAD", date="2024-07-03")
    reply = handle({"text": "flights Lisbon to Madrid on 3 July 2024"}, {})
    assert reply["data"]["cheapest"] == "TA216"
    assert len(fake_model.requests) == 1  # one model call per message, never a second


def test_the_request_holds_the_message_only(fake_model: FakeModel) -> None:
    """What makes a recorded model call replayable: the request does not depend on the
    session, so no fix of the harness or the state can change it."""
    fake_model.says("ok").says("ok")
    handle({"text": "hello", "date": "2024-06-28"}, {})
    handle({"text": "hello", "date": "2024-06-29"}, {"loyalty_id": "TL-1001", "turns": 4})
    first, second = fake_model.requests
    assert first == second == model.request("hello")
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "search_flights", "quote_hotel", "booking_status", "cancel_booking", "loyalty_balance",
    }  # fmt: skip


def test_state_counts_turns_and_keeps_the_schema(fake_model: FakeModel) -> None:
    state: dict[str, Any] = {}
    fake_model.says("hi").calls("booking_status", booking_ref="BK2004")
    handle("hi", state)
    assert (
        handle({"text": "status of BK2004", "date": "2024-06-28"}, state)["data"]["status"]
        == "confirmed"
    )
    assert (state["turns"], state["schema"]) == (2, STATE_SCHEMA)


def test_bad_messages_never_reach_the_model(fake_model: FakeModel) -> None:
    assert handle({"nope": 1}, {})["intent"] == "bad_request"
    assert handle({"text": "hi", "date": "June 1st"}, {})["intent"] == "bad_request"
    assert fake_model.requests == []


def test_migrate_renames_schema_1_keys() -> None:
    old = {"member": "TL-1001", "turns": 3}
    new = migrate(old, "abc123", "def456")
    assert new == {"loyalty_id": "TL-1001", "turns": 3, "schema": STATE_SCHEMA}
    assert migrate(new, "def456", "fed789") == new
