"""Functions over multi-valued attributes (Python lists)."""

from __future__ import annotations

from ..errors import FunctionFailure
from ..registry import function
from ..values import as_list, scalar_text
from ._checks import literal, reject


@function("Count", "attribute", returns="number",
          description="The number of values in a multi-valued attribute (0 if it has none).")
def count(args):
    return len(as_list(args.value(0)))


def _check_item(call):
    index = literal(call, 1)
    if index is not None and index.lstrip("-").isdigit() and int(index) < 1:
        raise reject(call, 1, "Invalid index", "Item counts from 1: Item([proxyAddresses], 1) is the first value")


@function("Item", "attribute", "index", check=_check_item,
          description="Returns one value of a multi-valued attribute; index 1 is the first value.")
def item(args):
    values = as_list(args.value(0))
    index = args.integer(1)
    if index is None:
        raise FunctionFailure("index is null; it must be a whole number from 1")
    if index < 1:
        raise FunctionFailure(f"index must be 1 or more (the first value is 1), got {index}")
    if not values:
        return None
    if index > len(values):
        raise FunctionFailure(f"index {index} is out of range: the attribute has {len(values)} "
                              f"value{'s' if len(values) != 1 else ''}")
    return values[index - 1]


@function("RemoveDuplicates", "attribute", returns="multi-valued",
          description="Returns the values of a multi-valued attribute with duplicates removed "
                      "(case-sensitive, first occurrence kept).")
def remove_duplicates(args):
    seen, unique = set(), []
    for value in as_list(args.value(0)):
        key = scalar_text(value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique or None


@function("Split", "source", "delimiter", returns="multi-valued",
          description="Splits a string into a multi-valued attribute at each delimiter; values are trimmed "
                      "and empty values dropped.")
def split(args):
    text, delimiter = args.text(0), args.text(1)
    if text is None:
        return None
    parts = text.split(delimiter) if delimiter else [text]
    # The reference's example turns "PermissionSetOne, PermissionSetTwo" into two values without the space.
    values = [part.strip() for part in parts]
    return [value for value in values if value] or None


@function("SingleAppRoleAssignment", "appRoleAssignments",
          description="Returns the role of a user's app role assignment as a single string. Meant for users "
                      "with one role; with several, the first is used.")
def single_app_role_assignment(args):
    for assignment in as_list(args.value(0)):
        if isinstance(assignment, dict):
            for key in ("value", "appRoleValue", "displayName", "appRoleDisplayName"):
                role = assignment.get(key)
                if isinstance(role, str) and role:
                    return role
            continue
        role = scalar_text(assignment)
        if role:
            return role
    return None
