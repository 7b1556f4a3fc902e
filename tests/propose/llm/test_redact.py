"""Redaction: defaults catch keys, tokens, passwords, private keys and e-mail addresses; user
patterns add to them; placeholders are stable and reversible; bad patterns are one line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theseus.errors import TheseusError
from theseus.propose.llm.redact import Redactor, compile_pattern

SECRETS = {
    "openai key": "sk-proj-Abcdefghijklmnop1234567890",
    "anthropic key": "sk-ant-api03-abcdefghijklmnopqrstuv_wx",
    "aws key": "AKIAIOSFODNN7EXAMPLE",
    "github token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "slack token": "xoxb-1234567890-0987654321-abcdef",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "email": "ann.lee+shop@example.co.uk",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_default_patterns_remove_each_kind_of_secret(name: str) -> None:
    secret = SECRETS[name]
    text = f"customer said: use {secret} please"
    redacted = Redactor().redact(text)
    assert secret not in redacted
    assert "[REDACTED:" in redacted
    assert redacted.startswith("customer said: use ") and redacted.endswith(" please")


def test_bearer_token_keeps_the_word_bearer() -> None:
    redacted = Redactor().redact("Authorization: Bearer abc123def456ghi789")
    assert redacted == "Authorization: Bearer [REDACTED:token#1]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2&next=/home", "password=[REDACTED:secret#1]&next=/home"),
        ('{"api_key": "zz top 9"}', '{"api_key": "[REDACTED:secret#1]"}'),
        ("client_secret: 'q1w2e3'", "client_secret: '[REDACTED:secret#1]'"),
        ('DB_PASSWORD = "s3cr3t!"', 'DB_PASSWORD = "[REDACTED:secret#1]"'),
    ],
)
def test_password_and_secret_values_go_but_their_keys_stay(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_code_that_passes_a_password_variable_along_is_left_alone() -> None:
    code = "    return login(user, password=password, token=token)\n"
    assert Redactor().redact(code) == code


def test_private_key_blocks_are_removed_whole() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc==\n-----END RSA PRIVATE KEY-----"
    redacted = Redactor().redact(f"key:\n{pem}\nend")
    assert redacted == "key:\n[REDACTED:private_key#1]\nend"


def test_same_value_same_placeholder_and_distinct_values_numbered() -> None:
    redactor = Redactor()
    first = redactor.redact("from ann@example.com to bob@example.org")
    second = redactor.redact("reply to ann@example.com")
    assert first == "from [REDACTED:email#1] to [REDACTED:email#2]"
    assert second == "reply to [REDACTED:email#1]"
    assert redactor.count == 2


def test_restore_puts_values_back_and_leaves_unknown_placeholders() -> None:
    redactor = Redactor()
    redacted = redactor.redact("mail ann@example.com")
    assert redactor.restore(redacted + " [REDACTED:email#9]") == (
        "mail ann@example.com [REDACTED:email#9]"
    )


def test_user_patterns_add_to_the_defaults() -> None:
    redactor = Redactor([r"ORD-\d{4,}", r"acct=(?P<value>\d+)"])
    redacted = redactor.redact("order ORD-123456 acct=998877 ann@example.com")
    assert redacted == "order [REDACTED:custom#1] acct=[REDACTED:custom#2] [REDACTED:email#1]"


def test_redacting_twice_changes_nothing_more() -> None:
    redactor = Redactor([r"REDACTED", r"\d+"])
    once = redactor.redact("ann@example.com paid 12")
    assert redactor.redact(once) == once


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [("ORD-(\\d+", "not a valid regex"), ("[a-z", "not a valid regex"), ("x*", "empty string")],
)
def test_bad_user_patterns_are_one_line_naming_the_pattern(pattern: str, needle: str) -> None:
    with pytest.raises(TheseusError) as caught:
        Redactor([pattern])
    line = str(caught.value)
    assert needle in line and repr(pattern) in line and "\n" not in line
    with pytest.raises(TheseusError):
        compile_pattern(pattern)


_SAFE = st.text(alphabet=st.characters(codec="ascii", exclude_characters="@-_="), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.tuples(_SAFE, st.sampled_from(sorted(SECRETS.values()))), max_size=5),
    tail=_SAFE,
)
def test_no_default_secret_survives_and_restore_round_trips(
    parts: list[tuple[str, str]], tail: str
) -> None:
    text = "".join(f"{prose} {secret} " for prose, secret in parts) + tail
    redactor = Redactor()
    redacted = redactor.redact(text)
    for _, secret in parts:
        assert secret not in redacted
    assert redactor.restore(redacted) == text
