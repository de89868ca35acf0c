"""Scoping filters: which source objects are in scope, by their attributes.

As in Entra: a filter is a list of clauses ``(attribute, operator, value)``
that must all hold (AND); an object is in scope when any filter holds (OR);
with no filters at all, everything is in scope.

Operator semantics follow Microsoft's "Scoping users or groups to be
provisioned with scoping filters":

* EQUALS / NOT EQUALS compare text exactly, case-sensitively.
* IS TRUE / IS FALSE hold for a boolean value (or the text true/false in any case).
* IS NULL / IS NOT NULL test for an absent or empty value.
* REGEX MATCH / NOT REGEX MATCH search the value with a .NET-style pattern,
  case-sensitively and unanchored (as Regex.IsMatch: use ^…$ to match whole values).
* Greater_Than / Greater_Than_OR_EQUALS compare integers; the clause's value must
  be an integer, and an attribute that is not an integer does not match.
* Includes holds when the value contains the clause's text (String.Contains,
  case-sensitive), so it also finds one entry of a comma-separated value.
* ENDS_WITH holds when the value ends with the clause's text (case-sensitive).
* & holds when the value, an integer, shares a set bit with the clause's integer
  (bitwise AND is not zero: ``userAccountControl & 2`` for a disabled account);
  !& holds when they share none. A value that is not an integer matches neither.

Every clause except IS NULL is false for a null or empty value ("scoping
filters will return false if the value is null / empty"), including the
negative ones. Where Entra does not filter multi-valued attributes at all,
here a positive clause holds when any value satisfies it and a negative clause
(NOT EQUALS, NOT REGEX MATCH) when no value matches.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from .errors import ExpressionEvaluationError, FunctionFailure
from .patterns import PatternError, compile_pattern, search
from .values import as_list, normalize_attribute, scalar_text

EQUALS = "EQUALS"
NOT_EQUALS = "NOT EQUALS"
IS_TRUE = "IS TRUE"
IS_FALSE = "IS FALSE"
IS_NULL = "IS NULL"
IS_NOT_NULL = "IS NOT NULL"
REGEX_MATCH = "REGEX MATCH"
NOT_REGEX_MATCH = "NOT REGEX MATCH"
GREATER_THAN = "Greater_Than"
GREATER_THAN_OR_EQUALS = "Greater_Than_OR_EQUALS"
INCLUDES = "Includes"
ENDS_WITH = "ENDS_WITH"
BITWISE_AND = "&"
BITWISE_NOT_AND = "!&"

#: (value, label) pairs in the order the Entra portal lists them; value and label are the same words.
OPERATORS = [(name, name) for name in (
    BITWISE_AND, BITWISE_NOT_AND, ENDS_WITH, EQUALS, GREATER_THAN, GREATER_THAN_OR_EQUALS, INCLUDES, IS_FALSE, IS_NOT_NULL, IS_NULL,
    IS_TRUE, NOT_EQUALS, NOT_REGEX_MATCH, REGEX_MATCH,
)]

UNARY = {IS_TRUE, IS_FALSE, IS_NULL, IS_NOT_NULL}
_NEGATIVE = {NOT_EQUALS: EQUALS, NOT_REGEX_MATCH: REGEX_MATCH}
_ALIASES = {re.sub(r"[\s_]+", " ", name.upper()): name for name, _ in OPERATORS}
_INTEGER = re.compile(r"\s*[+-]?\d{1,30}\s*\Z")


class ScopingError(ValueError):
    """A scoping clause that cannot be used as configured (unknown operator, bad value)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _canonical(operator: str) -> str:
    key = re.sub(r"[\s_]+", " ", str(operator).strip().upper())
    if key not in _ALIASES:
        known = ", ".join(name for name, _ in OPERATORS)
        raise ScopingError(f'"{operator}" is not a scoping operator (one of {known})')
    return _ALIASES[key]


def validate_clause(operator: str, value: str | None) -> str:
    """Check a clause's operator and value; return the operator's canonical name.

    Raises ScopingError with a message for the administrator: an unknown
    operator, a missing value, a pattern that does not compile, a non-integer
    for Greater_Than.
    """
    name = _canonical(operator)
    if name in UNARY:
        return name
    if value is None or value == "":
        raise ScopingError(f"{name} needs a value to compare with")
    if not isinstance(value, str):
        raise ScopingError(f"the value of a {name} clause must be text")
    if name in (REGEX_MATCH, NOT_REGEX_MATCH):
        try:
            compile_pattern(value)
        except PatternError as error:
            raise ScopingError(str(error)) from None
    if name in (GREATER_THAN, GREATER_THAN_OR_EQUALS) and not _INTEGER.match(value):
        raise ScopingError(f'{name} compares integers, and "{value}" is not an integer')
    if name in (BITWISE_AND, BITWISE_NOT_AND) and not _INTEGER.match(value):
        raise ScopingError(f'{name} tests the bits of an integer, and "{value}" is not an integer')
    return name


def _texts(attribute_value) -> list[str]:
    values = []
    for item in as_list(normalize_attribute(attribute_value)):
        if isinstance(item, dict):
            continue
        text = scalar_text(item)
        if text != "":
            values.append(text)
    return values


def _holds(name: str, text: str, value) -> bool:
    if name == EQUALS:
        return text == value
    if name == IS_TRUE:
        return text.strip().lower() == "true"
    if name == IS_FALSE:
        return text.strip().lower() == "false"
    if name == REGEX_MATCH:
        return search(value, text)
    if name in (GREATER_THAN, GREATER_THAN_OR_EQUALS):
        if not _INTEGER.match(text):
            return False
        number, limit = int(text), int(value)
        return number > limit if name == GREATER_THAN else number >= limit
    if name in (BITWISE_AND, BITWISE_NOT_AND):
        if not _INTEGER.match(text):
            return False
        shared = int(text) & int(value)
        return shared != 0 if name == BITWISE_AND else shared == 0
    if name == INCLUDES:
        return value in text
    if name == ENDS_WITH:
        return text.endswith(value)
    raise AssertionError(name)  # pragma: no cover


def evaluate_clause(attribute_value, operator: str, value: str | None) -> bool:
    """Whether one clause holds for an attribute's value.

    ``attribute_value`` is as in the expression language's attributes (text,
    bool, int, datetime, list, None). Raises ScopingError for a bad clause and
    ExpressionEvaluationError when a pattern takes too long on this value.
    """
    name = validate_clause(operator, value)
    texts = _texts(attribute_value)
    if name == IS_NULL:
        return not texts
    if name == IS_NOT_NULL:
        return bool(texts)
    if not texts:
        return False
    try:
        if name in _NEGATIVE:
            positive = _NEGATIVE[name]
            return not any(_holds(positive, text, value) for text in texts)
        return any(_holds(name, text, value) for text in texts)
    except FunctionFailure as failure:
        raise ExpressionEvaluationError(failure.message, 0, function=name) from None


def matches(filters: Iterable[Sequence[Sequence]], attributes: dict) -> bool:
    """Whether an object is in scope: any filter whose clauses all hold, or no filters at all."""
    filters = list(filters)
    if not filters:
        return True
    for clauses in filters:
        if all(evaluate_clause(attributes.get(attribute), operator, value)
               for attribute, operator, value in clauses):
            return True
    return False


__all__ = [
    "OPERATORS",
    "ScopingError",
    "evaluate_clause",
    "matches",
    "validate_clause",
]
