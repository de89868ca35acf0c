"""The attribute-mapping expression language of Microsoft Entra provisioning.

An "Expression" mapping computes a target attribute from source attributes::

    >>> evaluate('Join("@", ToLower([mailNickname]), "contoso.com")', {"mailNickname": "JSmith"})
    'jsmith@contoso.com'

Syntax, as in Microsoft's reference: ``FunctionName(arg, …)`` with nesting,
``[attributeName]``, ``"text"`` with ``\\"`` and ``\\\\`` escapes, empty arguments
(``Switch([IsSoftDeleted], , "False", "True", "True", "False")``), numbers,
``&H`` hexadecimal numbers, ``vbTextCompare``/``vbBinaryCompare``, and the
comparisons ``= <> < <= > >=`` in arguments. Function names are case-sensitive,
and so are attribute names: the reference says "the syntax is case-sensitive"
and that directory extension attribute names are case-sensitive, so
``[displayname]`` does not read ``displayName`` (the portal can compare
:func:`referenced_attributes` with the schema to warn about such a name).

Values in ``attributes`` may be ``str``, ``bool``, ``int``, ``float``,
``datetime``, ``date``, ``list`` (multi-valued), ``dict`` (an app role
assignment) or ``None``. They flow as Azure flows them, as text: booleans as
``"True"``/``"False"``, numbers in decimal, datetimes in ISO 8601 UTC
(``2021-06-30T08:00:00Z``) as Graph returns them. A missing key, ``None`` and
an empty list are all null.

Null rules, where the reference says nothing: a function given a null source
returns null (CDate, Mid, ToLower, Replace…), except where the reference says
otherwise (Left and Word give "", InStr 0, Count 0, Not True) and except
Append, which treats a null part as empty, and Join, which skips null and
empty values and is null only if nothing is left. Switch and comparisons treat
null as "" (the reference's own workaround is a "" key). A function that needs
a single value and gets a multi-valued one uses its only value or fails,
asking for Item() or Join().

The result is text, a list of text for a multi-valued result, or None (null).
When IgnoreFlowIfNullOrEmpty fires, the attribute must not flow at all, which
differs from flowing null: :func:`evaluate_detailed` says so in
``Evaluation.ignore_flow``; :func:`evaluate` then returns None.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from . import functions as _functions  # noqa: F401  (registers the functions)
from .errors import ExpressionError, ExpressionEvaluationError
from .evaluator import Evaluation, evaluate_tree
from .nodes import Expression
from .parser import MAX_DEPTH, MAX_LENGTH, parse
from .registry import REGISTRY, FunctionSpec

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Evaluation",
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "FunctionSpec",
    "evaluate",
    "evaluate_detailed",
    "parse",
    "referenced_attributes",
]

#: Every function, by name: ``.signature`` (``"Append(source, suffix)"``, optional
#: parameters in brackets), ``.description``, ``.params``, ``.returns``,
#: ``.min_args`` and ``.max_args`` (None when it repeats).
FUNCTIONS: MappingProxyType[str, FunctionSpec] = MappingProxyType(dict(sorted(REGISTRY.items())))


def _parsed(expression: str | Expression) -> Expression:
    return expression if isinstance(expression, Expression) else parse(expression)


def evaluate_detailed(expression: str | Expression, attributes: dict, *, now: datetime | None = None) -> Evaluation:
    """Evaluate an expression for one object and say how its result must flow.

    ``now`` fixes the time Now() and date defaults use (UTC if naive); by
    default, the current time. Raises ExpressionError for a malformed
    expression and ExpressionEvaluationError when it fails on these attributes.
    """
    return evaluate_tree(_parsed(expression), attributes, now)


def evaluate(expression: str | Expression, attributes: dict, *, now: datetime | None = None) -> str | list | None:
    """Evaluate an expression for one object: text, a list of text, or None.

    None also when IgnoreFlowIfNullOrEmpty fired; an engine that must tell the
    two apart uses :func:`evaluate_detailed`.
    """
    return evaluate_detailed(expression, attributes, now=now).value


def referenced_attributes(expression: str | Expression) -> set[str]:
    """The source attribute names an expression reads, as written (for Graph's ``$select``)."""
    return set(_parsed(expression).attributes)
