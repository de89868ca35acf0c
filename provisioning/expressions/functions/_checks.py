"""Checks run when an expression is saved, on arguments written as literals.

A misspelled interval or a broken regular expression is then reported with
the expression, instead of failing for every user on the next cycle.
"""

from __future__ import annotations

from ..errors import ExpressionError
from ..nodes import Call, Constant, NumberLiteral, StringLiteral


def literal(call: Call, index: int) -> str | None:
    """The text of an argument written as a literal, or None if it is computed or absent."""
    if index >= len(call.args):
        return None
    node = call.args[index]
    if isinstance(node, StringLiteral):
        return node.value
    if isinstance(node, NumberLiteral):
        return node.text
    if isinstance(node, Constant):
        return node.name
    return None


def reject(call: Call, index: int, headline: str, detail: str) -> ExpressionError:
    return ExpressionError(headline, call.args[index].position, detail)
