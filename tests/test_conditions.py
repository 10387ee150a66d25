"""The condition language: parsing, evaluation, and that null never triggers a rule."""

from __future__ import annotations

import pytest

from ivr.flows.conditions import Condition, ConditionError


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("csat <= 2", {"csat": 2}, True),
        ("csat <= 2", {"csat": 3}, False),
        ("csat <= 2", {"csat": None}, False),
        ("csat <= 2", {}, False),
        ("not csat <= 2", {"csat": None}, True),
        ("csat == 1 or nps <= 2", {"csat": 4, "nps": 0}, True),
        ("csat == 1 and nps <= 2", {"csat": 1, "nps": 5}, False),
        ("nps in (0, 1, 2)", {"nps": 1}, True),
        ("nps in (0, 1, 2)", {"nps": None}, False),
        ("resolved == no", {"resolved": "no"}, True),
        ("resolved != no", {"resolved": None}, True),
        ("reason == 'billing'", {"reason": "billing"}, True),
        ('reason == "billing" and (csat < 3 or nps < 7)', {"reason": "billing", "csat": 4, "nps": 6}, True),
        ("csat", {"csat": 3}, True),
        ("csat", {"csat": None}, False),
        ("csat == null", {}, True),
        ("csat > 'a'", {"csat": 3}, False),
    ],
)
def test_evaluation(source: str, values: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert Condition.parse(source).evaluate(values) is expected


def test_names_are_the_steps_referred_to() -> None:
    assert Condition.parse("a == 1 or (b in (1, 2) and not c)").names() == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("csat <=", "ends early"),
        ("csat = 2", "position 6"),
        ("(csat > 1", "expected ')'"),
        ("csat > 1 nps", "unexpected 'nps'"),
        ("5", "a value on its own is not a condition"),
        ("__import__('os')", "unexpected '('"),
        ("csat in 1", "expected '('"),
    ],
)
def test_errors_say_what_is_wrong(source: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Condition.parse(source)
