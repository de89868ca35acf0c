"""Evaluating a parsed expression against one object's attributes.

Evaluation recurses over the tree, whose depth the parser caps, so it cannot
run away. Functions that choose between their arguments (IIF, Switch,
Coalesce) get them unevaluated and compute only the ones they use: an error or
an IgnoreFlowIfNullOrEmpty in a branch not taken has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from .errors import ExpressionEvaluationError, FunctionFailure
from .nodes import AttributeRef, Call, Comparison, Constant, Expression, Node, NumberLiteral, Omitted, StringLiteral
from .registry import REGISTRY
from .values import (
    MAX_TEXT_LENGTH,
    DateValue,
    as_number,
    normalize_attribute,
    output,
    scalar_text,
    single,
    to_boolean,
    to_integer,
    to_text,
)


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating a mapping for one object.

    ``ignore_flow`` is True when IgnoreFlowIfNullOrEmpty fired: the target
    attribute must be left out of the request altogether, which is not the same
    as sending null. ``value`` is then None. ``redact`` is True when Redact()
    was used: the value must not appear in provisioning logs.
    """

    value: str | list[str] | None
    ignore_flow: bool = False
    redact: bool = False


class IgnoreFlow(Exception):
    """Unwinds evaluation when IgnoreFlowIfNullOrEmpty fires."""


class Context:
    """What one evaluation can see: the attributes, the time, and the flags it raises."""

    def __init__(self, attributes: dict, now: datetime | None):
        self.attributes = attributes
        if now is None:
            now = datetime.now(timezone.utc)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        # Now() shows whole seconds; keeping the same instant for DateDiff avoids off-by-a-fraction results.
        self.now = now.astimezone(timezone.utc).replace(microsecond=0)
        self.redact = False
        self._normalized: dict = {}

    def attribute(self, name: str):
        if name not in self._normalized:
            self._normalized[name] = normalize_attribute(self.attributes.get(name))
        return self._normalized[name]

    def evaluate(self, node: Node):
        if isinstance(node, StringLiteral):
            return node.value
        if isinstance(node, AttributeRef):
            return self.attribute(node.name)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, (NumberLiteral, Constant)):
            return node.value
        if isinstance(node, Omitted):
            return None
        if isinstance(node, Comparison):
            return self.compare(node)
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def call(self, node: Call):
        spec = REGISTRY[node.name]
        args = Args(self, node)
        try:
            if not spec.lazy:
                for index in range(len(node.args)):
                    args.value(index)
            result = spec.impl(args)
            if isinstance(result, str) and len(result) > MAX_TEXT_LENGTH:
                raise FunctionFailure(f"the result would be longer than {MAX_TEXT_LENGTH:,} characters")
            if isinstance(result, list) and not result:
                result = None
            return result
        except FunctionFailure as failure:
            raise ExpressionEvaluationError(failure.message, node.position, function=node.name) from None
        except (OverflowError, ArithmeticError):
            raise ExpressionEvaluationError(
                "a number or date is out of range", node.position, function=node.name
            ) from None

    def compare(self, node: Comparison) -> bool:
        try:
            left = single(self.evaluate(node.left), "the left side of the comparison")
            right = single(self.evaluate(node.right), "the right side of the comparison")
            return compare(node.operator, left, right)
        except FunctionFailure as failure:
            raise ExpressionEvaluationError(failure.message, node.position) from None


def _ordered(operator: str, a, b) -> bool:
    if operator == "=":
        return a == b
    if operator == "<>":
        return a != b
    if operator == "<":
        return a < b
    if operator == "<=":
        return a <= b
    if operator == ">":
        return a > b
    return a >= b


def compare(operator: str, left, right) -> bool:
    """Compare two single values.

    Null compares as empty text, so ``IIF([country]="", …)`` does what it says
    (the reference lists that as not working in Azure). Numbers compare as
    numbers when both sides are numbers, dates as instants when both are
    dates, booleans as booleans; everything else compares as case-sensitive
    text, like Switch.
    """
    left = "" if left is None else left
    right = "" if right is None else right
    if isinstance(left, DateValue) and isinstance(right, DateValue):
        return _ordered(operator, left.moment, right.moment)
    left_number, right_number = as_number(left), as_number(right)
    if left_number is not None and right_number is not None:
        if operator in ("=", "<>") and isinstance(left, str) and isinstance(right, str):
            # Two pieces of text are equal only if they read the same ("007" is not "7").
            return _ordered(operator, left, right)
        return _ordered(operator, Decimal(left_number), Decimal(right_number))
    if isinstance(left, bool) or isinstance(right, bool):
        texts = {scalar_text(left).strip().lower(), scalar_text(right).strip().lower()}
        if texts <= {"true", "false"}:
            return _ordered(operator, to_boolean(left, "the left side"), to_boolean(right, "the right side"))
    return _ordered(operator, scalar_text(left), scalar_text(right))


class Args:
    """A function's arguments, evaluated on first use and then remembered."""

    __slots__ = ("context", "call", "spec", "_values")

    _PENDING = object()

    def __init__(self, context: Context, call: Call):
        self.context = context
        self.call = call
        self.spec = REGISTRY[call.name]
        self._values = [Args._PENDING] * len(call.args)

    def __len__(self) -> int:
        return len(self.call.args)

    def given(self, index: int) -> bool:
        """Whether the argument was written (not left out or left empty)."""
        return index < len(self.call.args) and not isinstance(self.call.args[index], Omitted)

    def node(self, index: int) -> Node:
        return self.call.args[index]

    def name(self, index: int) -> str:
        return self.spec.param(index).name

    def value(self, index: int):
        if index >= len(self.call.args):
            return None
        if self._values[index] is Args._PENDING:
            self._values[index] = self.context.evaluate(self.call.args[index])
        return self._values[index]

    def text(self, index: int) -> str | None:
        return to_text(self.value(index), self.name(index))

    def integer(self, index: int) -> int | None:
        return to_integer(self.value(index), self.name(index))

    def boolean(self, index: int) -> bool:
        return to_boolean(self.value(index), self.name(index))

    def single(self, index: int):
        return single(self.value(index), self.name(index))


def evaluate_tree(expression: Expression, attributes: dict, now: datetime | None) -> Evaluation:
    """Evaluate a parsed expression; see :func:`provisioning.expressions.evaluate_detailed`."""
    context = Context(attributes, now)
    try:
        value = context.evaluate(expression.root)
    except IgnoreFlow:
        return Evaluation(None, ignore_flow=True, redact=context.redact)
    try:
        return Evaluation(output(value), redact=context.redact)
    except FunctionFailure as failure:
        raise ExpressionEvaluationError(failure.message, expression.root.position) from None
