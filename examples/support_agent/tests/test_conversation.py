"""Whole conversations through the entrypoint: routing, session state, replies."""

from __future__ import annotations

from typing import Any

from support_agent.app import STATE_SCHEMA, handle, migrate


def test_greeting_and_fallback(ask: Any) -> None:
    assert ask("Hello!")["intent"] == "greeting"
    assert ask("Do you sell gift cards?")["intent"] == "fallback"


def test_identify_remembers_the_customer(ask: Any) -> None:
    reply = ask("my email is alice.nasser@example.com")
    assert reply["intent"] == "identified"
    assert reply["data"] == {"customer_id": 101, "order_count": 3, "latest_order": 1110}
    assert ask.state["customer"] == 101


def test_unknown_email(ask: Any) -> None:
    assert ask("it's nobody@example.org")["intent"] == "unknown_customer"
    assert "customer" not in ask.state


def test_order_status_and_follow_up_with_it(ask: Any) -> None:
    reply = ask("Where is order 1042?")
    assert reply["data"] == {
        "order_id": 1042,
        "status": "delivered",
        "date": "2024-04-17",
        "amount_cents": 4800,
    }
    assert ask.state["order"] == 1042
    assert ask("how heavy is it?")["data"] == {"order_id": 1042, "grams": 870}


def test_unknown_order_number(ask: Any) -> None:
    assert ask("track #9999 please")["intent"] == "order_not_found"


def test_questions_without_an_order_ask_for_one(ask: Any) -> None:
    assert ask("when will it arrive?")["intent"] == "need_order"
    assert ask("show my orders")["intent"] == "need_identification"


def test_list_orders(ask: Any) -> None:
    ask("alice.nasser@example.com")
    reply = ask("show my orders")
    assert reply["intent"] == "recent_orders"
    assert reply["data"]["orders"] == [1110, 1044, 1022]


def test_cancel_needs_confirmation(ask: Any) -> None:
    assert ask("please cancel order 1135")["intent"] == "confirm_cancel"
    assert ask("yes")["intent"] == "cancelled"
    assert ask("status of order 1135")["data"]["status"] == "cancelled"
    assert ask("cancel order 1135")["intent"] == "cannot_cancel"


def test_cancel_declined_and_shipped_orders(ask: Any) -> None:
    ask("cancel order 1135")
    assert ask("no")["intent"] == "kept"
    assert ask("cancel order 1042")["data"]["status"] == "delivered"
    assert ask("yes")["intent"] == "fallback"


def test_plain_string_message_and_bad_messages() -> None:
    state: dict[str, Any] = {}
    assert handle("hi", state)["intent"] == "greeting"
    assert handle({"nope": 1}, state)["intent"] == "bad_request"
    assert handle({"text": "hi", "date": "June 1st"}, state)["intent"] == "bad_request"


def test_state_counts_turns() -> None:
    state: dict[str, Any] = {}
    handle("hi", state)
    handle("hello", state)
    assert state["turns"] == 2
    assert state["schema"] == STATE_SCHEMA


def test_migrate_renames_schema_1_keys() -> None:
    old = {"customer_id": 101, "order_id": 1042, "turns": 3}
    new = migrate(old, "abc123", "def456")
    assert new == {"customer": 101, "order": 1042, "turns": 3, "schema": STATE_SCHEMA}
    assert migrate(new, "def456", "fed789") == new
