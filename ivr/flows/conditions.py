"""A small, safe expression language for step conditions and scoring rules (never eval).

    csat <= 2 or nps in (0, 1, 2)
    resolved == no and not (reason == "billing")

Names are step keys and stand for the answer's value: an integer for ratings, a string for
yes/no ("yes"/"no") and choices, null when the step was skipped or not asked. Any comparison
with null is false, so a missing answer never triggers a rule by accident.

Scoring rules may also use `sentiment`: the most negative comment's sentiment, from -1.0 (very
negative) to 1.0, null when there is no comment or its language cannot be judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

Value = int | float | str | None

# Known only once comments are transcribed and scored: scoring rules may use it, `when` may not.
SENTIMENT = "sentiment"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"[^"]*"|'[^']*')
      | (?P<op><=|>=|==|!=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "yes", "no", "null"}
RESERVED_NAMES = frozenset({*_KEYWORDS, SENTIMENT})


class ConditionError(ValueError):
    """The expression does not parse; the message says where."""


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Compare:
    op: str
    left: Name | Literal
    right: Name | Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | BoolOp | Not | Name


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped_end = len(source.rstrip())
        while pos < stripped_end:
            match = _TOKEN.match(source, pos)
            if not match or match.end() == pos:
                at = len(source) - len(source[pos:].lstrip())
                raise ConditionError(f"unexpected character at position {at + 1}: {source[at : at + 10]!r}")
            kind = match.lastgroup or ""
            text = match.group(kind)
            if kind == "word" and text in _KEYWORDS:
                kind = "keyword"
            self.tokens.append((kind, text))
            pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError(f"expression ends early, expected {repr(text) if text else 'more'}")
        if text is not None and token[1] != text:
            raise ConditionError(f"expected {text!r} but found {token[1]!r}")
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError("empty expression")
        node = self.parse_or()
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.peek() == ("keyword", "or"):
            self.take()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.peek() == ("keyword", "and"):
            self.take()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.peek() == ("keyword", "not"):
            self.take()
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        if self.peek() == ("op", "("):
            self.take()
            node = self.parse_or()
            self.take(")")
            return node
        left = self.parse_operand()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Compare(token[1], left, self.parse_operand())
        if token == ("keyword", "in"):
            self.take()
            self.take("(")
            items = [self.parse_literal()]
            while self.peek() == ("op", ","):
                self.take()
                items.append(self.parse_literal())
            self.take(")")
            return Compare("in", left, tuple(items))
        if isinstance(left, Name):
            return left  # a bare name: true when the step has an answer
        raise ConditionError(f"a value on its own is not a condition: {self.source!r}")

    def parse_operand(self) -> Name | Literal:
        token = self.peek()
        if token is not None and token[0] == "word":
            self.take()
            return Name(token[1])
        return self.parse_literal()

    def parse_literal(self) -> Literal:
        kind, text = self.take()
        if kind == "number":
            return Literal(float(text) if "." in text else int(text))
        if kind == "string":
            return Literal(text[1:-1])
        if kind == "keyword" and text in ("yes", "no"):
            return Literal(text)
        if kind == "keyword" and text == "null":
            return Literal(None)
        raise ConditionError(f"expected a value but found {text!r}")


@dataclass(frozen=True)
class Condition:
    source: str
    tree: Node

    @classmethod
    def parse(cls, source: str) -> Condition:
        return cls(source, _Parser(source).parse())

    def names(self) -> set[str]:
        found: set[str] = set()
        _collect_names(self.tree, found)
        return found

    def evaluate(self, values: Mapping[str, Value]) -> bool:
        return bool(_evaluate(self.tree, values))

    def numbers(self) -> set[int | float]:
        """The numeric literals in the expression (to probe a rule's edges)."""
        found: set[int | float] = set()
        _collect_numbers(self.tree, found)
        return found


def _collect_numbers(node: object, found: set[int | float]) -> None:
    if isinstance(node, Literal) and isinstance(node.value, int | float):
        found.add(node.value)
    elif isinstance(node, Compare):
        for side in (node.left, *(node.right if isinstance(node.right, tuple) else (node.right,))):
            _collect_numbers(side, found)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            _collect_numbers(operand, found)
    elif isinstance(node, Not):
        _collect_numbers(node.operand, found)


def _collect_names(node: object, found: set[str]) -> None:
    if isinstance(node, Name):
        found.add(node.name)
    elif isinstance(node, Compare):
        _collect_names(node.left, found)
        if isinstance(node.right, Name):
            found.add(node.right.name)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            _collect_names(operand, found)
    elif isinstance(node, Not):
        _collect_names(node.operand, found)


def _value(node: Name | Literal, values: Mapping[str, Value]) -> Value:
    return values.get(node.name) if isinstance(node, Name) else node.value


def _evaluate(node: Node, values: Mapping[str, Value]) -> bool:
    if isinstance(node, Name):
        return values.get(node.name) is not None
    if isinstance(node, Not):
        return not _evaluate(node.operand, values)
    if isinstance(node, BoolOp):
        results = (_evaluate(operand, values) for operand in node.operands)
        return all(results) if node.op == "and" else any(results)
    left = _value(node.left, values)
    if node.op == "in":
        assert isinstance(node.right, tuple)
        return left is not None and any(left == item.value for item in node.right)
    assert not isinstance(node.right, tuple)
    right = _value(node.right, values)
    if node.op == "==":
        return left == right
    if node.op == "!=":
        return left != right
    if left is None or right is None or isinstance(left, str) is not isinstance(right, str):
        return False
    if node.op == "<":
        return left < right  # type: ignore[operator]
    if node.op == "<=":
        return left <= right  # type: ignore[operator]
    if node.op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]
