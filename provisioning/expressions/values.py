"""Runtime values and the coercions between them.

Azure flows every attribute as a string, so in the end every value becomes text
(booleans as ``"True"``/``"False"``). Inside an expression, values keep a little
more shape so that functions can work on them without guessing:

* ``None`` — null: an absent attribute, an empty multi-valued attribute, an
  omitted argument.
* ``str`` — text.
* ``bool`` — results of IsNull, Not, comparisons…, and boolean attributes.
* ``int`` / ``Decimal`` — number literals, InStr, Count, DateDiff…, and integer
  attributes.
* :class:`DateValue` — results of CDate, DateAdd, Now, DateFromNum, and datetime
  attributes; carries the text it renders as.
* ``list`` — a multi-valued attribute or the result of Split; never empty
  (an empty list is null).
* ``dict`` — a complex value (an app role assignment); only
  SingleAppRoleAssignment looks inside one.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

from .errors import FunctionFailure

# Text longer than this is refused: nested Replace or Join can otherwise grow a
# value geometrically from a short expression.
MAX_TEXT_LENGTH = 1_000_000

# Python refuses to convert very long digit strings to int; nothing in a
# directory needs more digits than a FILETIME or a 64-bit flag set.
MAX_NUMBER_DIGITS = 40

_NUMBER = re.compile(r"\s*([+-]?)(\d+)(?:\.(\d+))?\s*\Z")


class DateValue:
    """A point in time plus the text it shows as when used as a string."""

    __slots__ = ("moment", "text")

    def __init__(self, moment: datetime, text: str):
        self.moment = moment
        self.text = text

    def __eq__(self, other):
        return isinstance(other, DateValue) and other.moment == self.moment and other.text == self.text

    def __hash__(self):
        return hash((self.moment, self.text))

    def __repr__(self):
        return f"DateValue({self.text!r})"


def us_general(moment: datetime) -> str:
    """Render ``M/d/yyyy h:mm:ss tt``, the format the reference gives for CDate, DateAdd and Now."""
    hour12 = moment.hour % 12 or 12
    meridiem = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year:04d} {hour12}:{moment.minute:02d}:{moment.second:02d} {meridiem}"


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive ones are taken to be UTC already (the service runs in UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def date_result(moment: datetime) -> DateValue:
    """A date produced by a function: UTC, shown as ``M/d/yyyy h:mm:ss tt``."""
    moment = to_utc(moment)
    return DateValue(moment, us_general(moment))


def _graph_text(moment: datetime) -> str:
    # Graph returns DateTimeOffset properties as ISO 8601 in UTC with a Z.
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return f"{text}Z"


def normalize_attribute(value):
    """Turn a value from the attributes dict into the evaluator's value model.

    Empty lists and lists of nulls become null, since Entra has no empty
    multi-valued attribute: it simply has no value.
    """
    if value is None or isinstance(value, (str, bool, int, Decimal, DateValue, dict)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, datetime):
        moment = to_utc(value)
        return DateValue(moment, _graph_text(moment))
    if isinstance(value, date):
        return DateValue(datetime.combine(value, time(), tzinfo=timezone.utc), value.isoformat())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = []
        for item in value:
            item = normalize_attribute(item)
            if isinstance(item, list):
                items.extend(item)
            elif item is not None:
                items.append(item)
        return items or None
    return str(value)


def describe(value) -> str:
    """A short rendering of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a multi-valued value with {len(value)} values"
    if isinstance(value, dict):
        return "a complex value"
    text = scalar_text(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f'"{text}"'


def scalar_text(value) -> str:
    """Text of a single (non-null, non-list) value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text or "0"
    if isinstance(value, DateValue):
        return value.text
    if isinstance(value, dict):
        raise FunctionFailure("a complex value (such as an app role assignment) cannot be used as text")
    return str(value)


def single(value, what: str):
    """The one value of a possibly multi-valued value.

    A multi-valued attribute with exactly one value is used as that value; with
    more, the caller must say which one it means (Item, Join, …).
    """
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        raise FunctionFailure(
            f"{what} is multi-valued ({len(value)} values) where a single value is expected; "
            "pick one with Item() or combine them with Join()"
        )
    return value


def to_text(value, what: str = "the value") -> str | None:
    """Text of a value, or None for null."""
    value = single(value, what)
    if value is None:
        return None
    return scalar_text(value)


def parse_number(text: str) -> int | Decimal | None:
    """A number written in decimal (``42``, ``-7``, ``1.5``), or None."""
    if len(text) > MAX_NUMBER_DIGITS * 2:
        return None
    match = _NUMBER.match(text)
    if not match:
        return None
    sign, whole, fraction = match.groups()
    if len(whole) + len(fraction or "") > MAX_NUMBER_DIGITS:
        return None
    if fraction is None:
        number = int(whole)
        return -number if sign == "-" else number
    try:
        return Decimal(f"{sign}{whole}.{fraction}")
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        return None


def as_number(value) -> int | Decimal | None:
    """The numeric reading of a single value, or None if it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        return parse_number(value)
    return None


def to_integer(value, what: str) -> int | None:
    """A whole number, or None for null; anything else that is not a whole number fails."""
    value = single(value, what)
    if value is None:
        return None
    number = as_number(value)
    if isinstance(number, Decimal):
        if number == number.to_integral_value():
            return int(number)
        number = None
    if number is None:
        raise FunctionFailure(f"{what} must be a whole number, got {describe(value)}")
    return number


def to_boolean(value, what: str) -> bool:
    """The truth of a value, as CBool and IIF read it.

    ``True``/``False`` in any case, numbers (zero is false), null is false.
    """
    value = single(value, what)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return value != 0
    if isinstance(value, str):
        text = value.strip()
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered in ("false", ""):
            return False
        number = parse_number(text)
        if number is not None:
            return number != 0
    raise FunctionFailure(f"{what} must be True or False (or a number), got {describe(value)}")


def as_list(value) -> list:
    """The values of a possibly multi-valued value: null is no values, a single value is one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def check_length(text: str) -> str:
    """Refuse text that has grown beyond what any directory attribute could hold."""
    if len(text) > MAX_TEXT_LENGTH:
        raise FunctionFailure(f"the result would be longer than {MAX_TEXT_LENGTH:,} characters")
    return text


def output(value):
    """The value an expression hands to the engine: text, a list of text, or None."""
    if value is None:
        return None
    if isinstance(value, list):
        return [scalar_text(item) for item in value]
    return scalar_text(value)
