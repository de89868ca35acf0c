"""Date and time functions.

Dates that functions produce (CDate, DateAdd, Now, DateFromNum) are UTC and
show as ``M/d/yyyy h:mm:ss tt``, as the reference states. Functions that take a
date accept one of those, or date text in a common form (ISO 8601, M/d/yyyy…);
text without an offset is taken as UTC, the service's time zone. DateAdd and
DateDiff follow Visual Basic's DateAdd and DateDiff, whose interval names the
reference uses.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from ..dotnet_dates import DateFormatError, format_datetime, parse_any, parse_exact, parse_styles
from ..errors import FunctionFailure
from ..registry import function, optional
from ..values import DateValue, as_number, date_result, single, to_text, to_utc
from ._checks import literal, reject

INTERVALS = {
    "yyyy": "year",
    "m": "month",
    "d": "day",
    "ww": "week",
    "h": "hour",
    "n": "minute",
    "s": "second",
}
_INTERVAL_HELP = "use yyyy (year), m (month), d (day), ww (week), h (hour), n (minute) or s (second)"

# Windows FILETIME counts 100-nanosecond ticks from 1601-01-01 UTC (AD's lastLogonTimestamp, accountExpires).
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


def _interval(args, index: int) -> str:
    text = args.text(index)
    if text not in INTERVALS:
        raise FunctionFailure(f'"{text}" is not an interval; {_INTERVAL_HELP}')
    return INTERVALS[text]


def _check_interval(call):
    text = literal(call, 0)
    if text is not None and text not in INTERVALS:
        raise reject(call, 0, "Invalid interval", f'"{text}" is not an interval; {_INTERVAL_HELP}')


def read_date(value, what: str, today) -> datetime | None:
    """A date argument as an aware UTC datetime, or None for null."""
    value = single(value, what)
    if value is None:
        return None
    if isinstance(value, DateValue):
        return to_utc(value.moment)
    text = to_text(value, what)
    if not text.strip():
        return None
    try:
        return to_utc(parse_any(text, today))
    except DateFormatError as error:
        raise FunctionFailure(str(error)) from None


@function("CDate", "expression", returns="date",
          description="Converts date text to a UTC date/time, shown as M/d/yyyy h:mm:ss tt.")
def cdate(args):
    moment = read_date(args.value(0), "expression", args.context.now.date())
    return None if moment is None else date_result(moment)


@function("Now", returns="date", description="The current UTC date and time, as M/d/yyyy h:mm:ss tt.")
def now(args):
    return date_result(args.context.now)


def _add_months(moment: datetime, months: int) -> datetime:
    # Like .NET AddMonths: a day past the end of the new month becomes its last day.
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _whole(value, what: str) -> int:
    # Visual Basic truncates a fractional number of intervals toward zero.
    value = single(value, what)
    number = as_number(value)
    if number is None:
        raise FunctionFailure(f"{what} must be a number, got {to_text(value, what)!r}")
    return int(number)


@function("DateAdd", "interval", "value", "dateTime", returns="date", check=_check_interval,
          description="Adds value intervals (yyyy, m, d, ww, h, n or s) to dateTime; value may be negative. "
                      "Returns M/d/yyyy h:mm:ss tt.")
def date_add(args):
    interval = _interval(args, 0)
    if args.value(1) is None:
        raise FunctionFailure("value is null; it must be a number")
    amount = _whole(args.value(1), "value")
    moment = read_date(args.value(2), "dateTime", args.context.now.date())
    if moment is None:
        return None
    try:
        if interval == "year":
            result = _add_months(moment, 12 * amount)
        elif interval == "month":
            result = _add_months(moment, amount)
        else:
            unit = {"day": timedelta(days=1), "week": timedelta(days=7), "hour": timedelta(hours=1),
                    "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}[interval]
            result = moment + unit * amount
    except (OverflowError, ValueError):
        raise FunctionFailure("the resulting date is outside the years 1 to 9999") from None
    return date_result(result)


def _fix(number: float) -> int:
    return int(number)  # int() truncates toward zero, like Visual Basic's Fix


def _week_start(moment: datetime) -> datetime:
    # Weeks start on Sunday, Visual Basic's default FirstDayOfWeek.
    return moment - timedelta(days=(moment.weekday() + 1) % 7)


@function("DateDiff", "interval", "date1", "date2", returns="number", check=_check_interval,
          description="The number of intervals (yyyy, m, d, ww, h, n or s) from date1 to date2: positive "
                      "if date2 is later, negative if earlier, 0 if equal.")
def date_diff(args):
    interval = _interval(args, 0)
    today = args.context.now.date()
    first = read_date(args.value(1), "date1", today)
    second = read_date(args.value(2), "date2", today)
    if first is None or second is None:
        return None
    span = second - first
    if interval == "year":
        return second.year - first.year
    if interval == "month":
        return (second.year - first.year) * 12 + second.month - first.month
    if interval == "week":
        days = (_week_start(second) - _week_start(first)).total_seconds() / 86400
        whole_days = round(days)  # CLng rounds half to even, as round() does
        return abs(whole_days) // 7 * (1 if whole_days >= 0 else -1)
    seconds = span.total_seconds()
    return _fix(seconds / {"day": 86400, "hour": 3600, "minute": 60, "second": 1}[interval])


@function("DateFromNum", "value", returns="date",
          description="Converts a number in Active Directory's date format (100-nanosecond intervals since "
                      "1601, as in lastLogonTimestamp) to a date/time.")
def date_from_num(args):
    ticks = args.integer(0)
    if ticks is None:
        return None
    if ticks < 0:
        raise FunctionFailure(f"{ticks} is not an Active Directory date (it must not be negative)")
    try:
        return date_result(_FILETIME_EPOCH + timedelta(microseconds=ticks // 10))
    except OverflowError:
        raise FunctionFailure(f"{ticks} is beyond the year 9999 (Active Directory uses 9223372036854775807 "
                              "for \"never\")") from None


@function("NumFromDate", "value", returns="number",
          description="Converts an ISO 8601 date/time to Active Directory's number format (as needed for "
                      "accountExpires).")
def num_from_date(args):
    moment = read_date(args.value(0), "value", args.context.now.date())
    if moment is None:
        return None
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _check_format_date_time(call):
    styles = literal(call, 1)
    try:
        if styles is not None:
            parse_styles(styles)
    except DateFormatError as error:
        raise reject(call, 1, "Invalid dateTimeStyles", str(error)) from None
    for index, name in ((2, "inputFormat"), (3, "outputFormat")):
        fmt = literal(call, index)
        if fmt is not None:
            try:
                format_datetime(datetime(2000, 1, 1), fmt)
            except DateFormatError as error:
                raise reject(call, index, f"Invalid {name}", str(error)) from None


@function("FormatDateTime", "source", optional("dateTimeStyles"), "inputFormat", "outputFormat",
          check=_check_format_date_time,
          description="Reads the source date with the .NET format inputFormat and writes it with the .NET "
                      "format outputFormat (for example \"yyyyMMddHHmmss.fZ\" to \"yyyy-MM-dd\").")
def format_date_time(args):
    source = single(args.value(0), "source")
    input_format, output_format = args.text(2), args.text(3)
    if not input_format or not output_format:
        raise FunctionFailure("inputFormat and outputFormat must not be empty")
    try:
        styles = parse_styles(args.text(1) if args.given(1) else None)
        if source is None:
            return None
        text = to_text(source, "source")
        try:
            moment = parse_exact(text, input_format, styles, args.context.now.date())
            if isinstance(source, DateValue) and moment.tzinfo is None:
                # Computed dates are UTC even though their text does not say so.
                moment = moment.replace(tzinfo=timezone.utc)
        except DateFormatError:
            if not isinstance(source, DateValue):
                raise
            # A date computed by CDate, DateAdd or Now can be formatted whatever inputFormat says.
            moment = source.moment
        return format_datetime(moment, output_format)
    except DateFormatError as error:
        raise FunctionFailure(str(error)) from None
