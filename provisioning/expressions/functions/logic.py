"""Functions that test values and choose between them."""

from __future__ import annotations

from ..evaluator import IgnoreFlow
from ..registry import function, optional
from ..values import to_text


@function("IIF", "condition", "valueIfTrue", "valueIfFalse", lazy=True,
          description="Returns valueIfTrue if the condition is true, else valueIfFalse. The condition can "
                      "compare with =, <>, >, >=, < and <=.")
def iif(args):
    return args.value(1) if args.boolean(0) else args.value(2)


@function("Switch", "source", optional("defaultValue"), "key", "value", repeat_from=2, lazy=True,
          description="Returns the value paired with the first key equal to source (case-sensitive), else "
                      "defaultValue. Keys and values come in pairs; an empty source matches the key \"\".")
def switch(args):
    # Null and empty are the same to Switch: the reference's workaround for a missing
    # value is a "" key.
    source = args.text(0) or ""
    for index in range(2, len(args), 2):
        if (args.text(index) or "") == source:
            return args.value(index + 1)
    return args.value(1) if args.given(1) else None


@function("Coalesce", "source", repeat_from=0, lazy=True,
          description="Returns the first argument that is not null; put a default value last. An empty "
                      "string is not null.")
def coalesce(args):
    for index in range(len(args)):
        value = args.value(index)
        if value is not None:
            return value
    return None


def _null_or_empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return False
    return to_text(value) == ""


@function("IsNull", "Expression", returns="boolean",
          description="True if the expression is null (an attribute that is absent).")
def is_null(args):
    return args.value(0) is None


@function("IsNullOrEmpty", "Expression", returns="boolean",
          description="True if the expression is null or an empty string. The inverse of IsPresent.")
def is_null_or_empty(args):
    return _null_or_empty(args.value(0))


@function("IsPresent", "Expression", returns="boolean",
          description="True if the expression is neither null nor an empty string. The inverse of "
                      "IsNullOrEmpty.")
def is_present(args):
    return not _null_or_empty(args.value(0))


@function("IsString", "Expression", returns="boolean",
          description="True if the expression can be evaluated to a single string value.")
def is_string(args):
    value = args.value(0)
    return value is not None and not isinstance(value, (list, dict))


@function("Not", "source", returns="boolean",
          description="Flips a boolean: True if source is not \"True\", False if it is.")
def not_(args):
    text = args.text(0)
    return not (text is not None and text.strip().lower() == "true")


@function("CBool", "Expression", returns="boolean",
          description="Returns True if the expression evaluates to true or a non-zero number, else False.")
def cbool(args):
    return args.boolean(0)


@function("IgnoreFlowIfNullOrEmpty", "expression",
          description="Leaves the target attribute out of the provisioning flow altogether if the enclosed "
                      "expression is null or empty.")
def ignore_flow_if_null_or_empty(args):
    value = args.value(0)
    if _null_or_empty(value):
        raise IgnoreFlow()
    return value


@function("Redact", "value",
          description="Flows the value unchanged but shows \"[Redact]\" instead of it in the provisioning logs.")
def redact(args):
    args.context.redact = True
    return args.value(0)
