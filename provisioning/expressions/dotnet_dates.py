""".NET date and time format strings, for FormatDateTime and CDate.

The reference sends administrators to .NET's "custom date and time format
strings", so those are what FormatDateTime's inputFormat and outputFormat
accept: ``yyyy MM dd HH hh mm ss f…fffffff F…FFFFFFF tt zzz K`` and the rest,
quoting with '…' or "…", escaping with \\, ``%`` for a lone specifier, and the
one-letter standard formats (``d``, ``G``, ``o``, ``s``, ``u``…). Month and day
names, AM/PM and the standard formats follow en-US, the culture whose
``M/d/yyyy h:mm:ss tt`` the reference shows for CDate and Now.

Parsing is exact, as DateTime.ParseExact: every part of the format must be in
the text. A parsed value keeps the wall-clock time and the offset it was
written with (the service runs in UTC, so "local" is UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

STANDARD_FORMATS = {
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}
# These standard formats show the time converted to UTC.
_UTC_FORMATS = set("rRuU")

_SPECIFIERS = set("dfFghHKmMstyz")

# DateTimeStyles, by the names and values .NET gives them.
STYLES = {
    "none": 0,
    "allowleadingwhite": 1,
    "allowtrailingwhite": 2,
    "allowinnerwhite": 4,
    "allowwhitespaces": 7,
    "nocurrentdatedefault": 8,
    "adjusttouniversal": 16,
    "assumelocal": 32,
    "assumeuniversal": 64,
    "roundtripkind": 128,
}
DEFAULT_STYLES = STYLES["roundtripkind"] | STYLES["allowleadingwhite"] | STYLES["allowtrailingwhite"]


class DateFormatError(ValueError):
    """A format string, a styles value or a date text that cannot be used; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "spec", "literal", "utc"  (a bare Z, which .NET reads as "this is UTC")
    char: str = ""
    count: int = 0
    text: str = ""


def _tokenize(fmt: str) -> list[_Token]:
    if fmt == "":
        raise DateFormatError("the date format is empty")
    if len(fmt) == 1:
        if fmt not in STANDARD_FORMATS:
            raise DateFormatError(f'"{fmt}" is not a standard date format; use a custom format such as "yyyy-MM-dd"')
        return _tokenize(STANDARD_FORMATS[fmt])
    tokens: list[_Token] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch in _SPECIFIERS:
            j = i
            while j < n and fmt[j] == ch:
                j += 1
            count = j - i
            if ch in "fF" and count > 7:
                raise DateFormatError(f'"{fmt}" has more than seven {ch} in a row')
            tokens.append(_Token("spec", ch, count))
            i = j
        elif ch in "'\"":
            j = i + 1
            chars = []
            while j < n and fmt[j] != ch:
                if fmt[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(fmt[j])
                j += 1
            if j >= n:
                raise DateFormatError(f'"{fmt}" has an unclosed quote')
            tokens.append(_Token("literal", text="".join(chars)))
            i = j + 1
        elif ch == "%":
            if i + 1 >= n or fmt[i + 1] == "%":
                raise DateFormatError(f'"{fmt}" has a % that is not followed by a format letter')
            nxt = fmt[i + 1]
            if nxt in _SPECIFIERS:
                tokens.append(_Token("spec", nxt, 1))
            else:
                tokens.append(_Token("literal", text=nxt))
            i += 2
        elif ch == "\\":
            if i + 1 >= n:
                raise DateFormatError(f'"{fmt}" ends with a lone backslash')
            tokens.append(_Token("literal", text=fmt[i + 1]))
            i += 2
        elif ch == "Z":
            tokens.append(_Token("utc", text="Z"))
            i += 1
        else:
            tokens.append(_Token("literal", text=ch))
            i += 1
    return tokens


def _offset_text(offset: timedelta, count: int) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if count == 1:
        return f"{sign}{hours}"
    if count == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{mins:02d}"


def format_datetime(moment: datetime, fmt: str) -> str:
    """Render ``moment`` with a .NET format string."""
    if len(fmt) == 1 and fmt in _UTC_FORMATS and moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    tokens = _tokenize(fmt)
    ticks = moment.microsecond * 10
    offset = moment.utcoffset() or timedelta(0)
    out: list[str] = []
    for token in tokens:
        if token.kind == "literal":
            out.append(token.text)
            continue
        if token.kind == "utc":
            out.append("Z")
            continue
        ch, count = token.char, token.count
        if ch == "d":
            if count == 1:
                out.append(str(moment.day))
            elif count == 2:
                out.append(f"{moment.day:02d}")
            elif count == 3:
                out.append(DAYS[moment.weekday()][:3])
            else:
                out.append(DAYS[moment.weekday()])
        elif ch == "M":
            if count == 1:
                out.append(str(moment.month))
            elif count == 2:
                out.append(f"{moment.month:02d}")
            elif count == 3:
                out.append(MONTHS[moment.month - 1][:3])
            else:
                out.append(MONTHS[moment.month - 1])
        elif ch == "y":
            if count == 1:
                out.append(str(moment.year % 100))
            elif count == 2:
                out.append(f"{moment.year % 100:02d}")
            else:
                out.append(str(moment.year).zfill(count))
        elif ch in "hHms":
            number = {"h": moment.hour % 12 or 12, "H": moment.hour, "m": moment.minute, "s": moment.second}[ch]
            out.append(str(number) if count == 1 else f"{number:02d}")
        elif ch == "f":
            out.append(f"{ticks:07d}"[:count])
        elif ch == "F":
            digits = f"{ticks:07d}"[:count].rstrip("0")
            if digits:
                out.append(digits)
            elif out and out[-1].endswith("."):
                # .NET drops the decimal point when F shows nothing.
                out[-1] = out[-1][:-1]
        elif ch == "t":
            meridiem = "AM" if moment.hour < 12 else "PM"
            out.append(meridiem[0] if count == 1 else meridiem)
        elif ch == "g":
            out.append("A.D.")
        elif ch == "z":
            out.append(_offset_text(offset, count))
        elif ch == "K":
            if moment.tzinfo is None:
                pass
            elif moment.tzinfo is timezone.utc:
                out.append("Z")
            else:
                out.append(_offset_text(offset, 3))
    return "".join(out)


def parse_styles(text: str | None) -> int:
    """Read a DateTimeStyles value: names joined by commas or |, or a number; empty means the default."""
    if text is None or not text.strip():
        return DEFAULT_STYLES
    text = text.strip()
    if text.isdigit():
        value = int(text)
        if value > 255:
            raise DateFormatError(f'"{text}" is not a DateTimeStyles value')
    else:
        value = 0
        for part in re.split(r"[,|]", text):
            name = part.strip().lower()
            if name.startswith("datetimestyles."):
                name = name[len("datetimestyles."):]
            if name not in STYLES:
                known = ", ".join(n for n in ("None", "AllowLeadingWhite", "AllowTrailingWhite", "AllowInnerWhite",
                                              "AllowWhiteSpaces", "NoCurrentDateDefault", "AdjustToUniversal",
                                              "AssumeLocal", "AssumeUniversal", "RoundtripKind"))
                raise DateFormatError(f'"{part.strip()}" is not a DateTimeStyles value (one of {known})')
            value |= STYLES[name]
    if value & STYLES["assumelocal"] and value & STYLES["assumeuniversal"]:
        raise DateFormatError("AssumeLocal and AssumeUniversal cannot be combined")
    if value & STYLES["roundtripkind"] and value & (STYLES["adjusttouniversal"] | STYLES["assumelocal"]
                                                   | STYLES["assumeuniversal"]):
        raise DateFormatError("RoundtripKind cannot be combined with AdjustToUniversal, AssumeLocal or AssumeUniversal")
    return value


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.i = 0

    def digits(self, low: int, high: int) -> int | None:
        j = self.i
        while j < len(self.text) and j - self.i < high and self.text[j].isascii() and self.text[j].isdigit():
            j += 1
        if j - self.i < low:
            return None
        if j == self.i:
            return 0
        value = int(self.text[self.i : j])
        self.i = j
        return value

    def word(self, choices: list[str]) -> int | None:
        # Longest first, so "May" does not stop "Mayday" and full names win over abbreviations.
        rest = self.text[self.i :].lower()
        best = None
        for index, choice in enumerate(choices):
            if rest.startswith(choice.lower()) and (best is None or len(choice) > len(choices[best])):
                best = index
        if best is None:
            return None
        self.i += len(choices[best])
        return best

    def match(self, literal: str) -> bool:
        if self.text.startswith(literal, self.i):
            self.i += len(literal)
            return True
        return False

    def skip_white(self) -> bool:
        start = self.i
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1
        return self.i > start

    def offset(self, count: int, optional: bool) -> timedelta | None | bool:
        """Read an offset; returns timedelta, timezone.utc marker True for Z, or None when absent."""
        if self.i < len(self.text) and self.text[self.i] in "Zz" and count != 0:
            self.i += 1
            return True
        if self.i >= len(self.text) or self.text[self.i] not in "+-":
            return None if optional else False
        sign = -1 if self.text[self.i] == "-" else 1
        self.i += 1
        hours = self.digits(1 if count == 1 else 2, 2)
        if hours is None:
            return False
        minutes = 0
        if count >= 3:
            self.match(":")
            minutes = self.digits(2, 2)
            if minutes is None:
                return False
        if hours > 14 or minutes > 59:
            return False
        return sign * timedelta(hours=hours, minutes=minutes)


def parse_exact(text: str, fmt: str, styles: int = DEFAULT_STYLES, today: date | None = None) -> datetime:
    """Parse ``text`` that must follow ``fmt`` exactly (DateTime.ParseExact)."""
    tokens = _tokenize(fmt)
    reader = _Reader(text)
    inner_white = bool(styles & STYLES["allowinnerwhite"])
    if styles & STYLES["allowleadingwhite"]:
        reader.skip_white()
    found: dict[str, int] = {}
    tz: timedelta | bool | None = None
    weekday = None

    def bad(reason: str = "") -> DateFormatError:
        suffix = f" ({reason})" if reason else ""
        return DateFormatError(f'"{text}" does not match the date format "{fmt}"{suffix}')

    for token in tokens:
        if token.kind == "literal":
            if token.text == "GMT" and reader.match("GMT"):
                # As in .NET, a quoted 'GMT' (the "r" format) says the time is UTC.
                tz = True
                continue
            for ch in token.text:
                if ch.isspace():
                    if not reader.skip_white() and not inner_white:
                        raise bad()
                    continue
                if inner_white:
                    reader.skip_white()
                if not reader.match(ch):
                    raise bad()
            continue
        if inner_white:
            reader.skip_white()
        if token.kind == "utc":
            if not (reader.match("Z") or reader.match("z")):
                raise bad()
            tz = True
            continue
        ch, count = token.char, token.count
        value: int | None
        if ch in "dM" and count >= 3:
            names = DAYS if ch == "d" else MONTHS
            choices = [name[:3] for name in names] if count == 3 else names
            value = reader.word(choices)
            if value is None:
                raise bad(f"expected a {'day' if ch == 'd' else 'month'} name")
            if ch == "d":
                weekday = value
            else:
                found["month"] = value + 1
            continue
        if ch == "t":
            if count == 1:
                value = reader.word(["A", "P"])
            else:
                value = reader.word(["AM", "PM"])
            if value is None:
                raise bad("expected AM or PM")
            found["pm"] = value
            continue
        if ch == "z":
            offset = reader.offset(count, optional=False)
            if offset is None or offset is False:
                raise bad("expected a time zone offset such as -07:00")
            tz = offset
            continue
        if ch == "K":
            offset = reader.offset(3, optional=True)
            if offset is False:
                raise bad("expected a time zone offset such as -07:00")
            if offset is not None:
                tz = offset
            continue
        if ch == "g":
            if not (reader.match("A.D.") or reader.match("AD")):
                raise bad("expected A.D.")
            continue
        if ch in "fF":
            start = reader.i
            value = reader.digits(count if ch == "f" else 0, count)
            if value is None:
                raise bad(f"expected {count} digit{'s' if count > 1 else ''} of fraction")
            length = reader.i - start
            found["ticks"] = value * 10 ** (7 - length) if length else 0
            continue
        low, high = (1, 2) if count == 1 else (count, count) if ch == "y" else (2, 2)
        value = reader.digits(low, high)
        if value is None:
            raise bad()
        if ch == "y":
            if count <= 2:
                # .NET's two-digit year window ends at 2049.
                value += 2000 if value < 50 else 1900
            found["year"] = value
        else:
            found[{"d": "day", "M": "month", "h": "hour12", "H": "hour", "m": "minute", "s": "second"}[ch]] = value
    if styles & STYLES["allowtrailingwhite"]:
        reader.skip_white()
    if reader.i != len(text):
        raise bad()
    return _assemble(found, tz, weekday, styles, today, bad)


def _assemble(found, tz, weekday, styles, today, bad) -> datetime:
    today = today or datetime.now(timezone.utc).date()
    if not any(key in found for key in ("year", "month", "day")):
        if styles & STYLES["nocurrentdatedefault"]:
            year, month, day = 1, 1, 1
        else:
            year, month, day = today.year, today.month, today.day
    else:
        year, month, day = found.get("year", today.year), found.get("month", 1), found.get("day", 1)
    hour = found.get("hour", 0)
    if "hour12" in found:
        if found["hour12"] > 12:
            raise bad("the hour is out of range")
        hour = found["hour12"] % 12
        if found.get("pm") == 1:
            hour += 12
    elif "pm" in found:
        if found["pm"] == 1 and hour < 12:
            hour += 12
        elif found["pm"] == 0 and hour > 12:
            raise bad("the hour does not fit AM")
    try:
        moment = datetime(year, month, day, hour, found.get("minute", 0), found.get("second", 0),
                          found.get("ticks", 0) // 10)
    except ValueError as error:
        raise bad(str(error)) from None
    if weekday is not None and moment.weekday() != weekday:
        raise bad("the day of the week does not match the date")
    if tz is True:
        moment = moment.replace(tzinfo=timezone.utc)
    elif isinstance(tz, timedelta):
        moment = moment.replace(tzinfo=timezone.utc if not tz else timezone(tz))
    if styles & STYLES["adjusttouniversal"]:
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    elif moment.tzinfo is None and styles & (STYLES["assumeuniversal"] | STYLES["assumelocal"]):
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


_ISO = re.compile(
    r"\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?\s*\Z",
    re.IGNORECASE,
)
_SLASHED = re.compile(
    r"\s*(?P<a>\d{1,4})/(?P<b>\d{1,2})/(?P<c>\d{1,4})"
    r"(?:\s+(?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?)?\s*(?P<ampm>AM|PM|A|P)?)?"
    r"\s*(?P<tz>Z|GMT|UTC|[+-]\d{2}(?::?\d{2})?)?\s*\Z",
    re.IGNORECASE,
)
# Forms with month names that DateTime.Parse also reads, each optionally followed by a time.
_NAMED_DATES = ["MMMM d, yyyy", "MMMM d yyyy", "d MMMM yyyy", "MMM d, yyyy", "MMM d yyyy", "d MMM yyyy",
                "dddd, MMMM d, yyyy", "ddd, MMM d, yyyy", "ddd, d MMM yyyy", "ddd, dd MMM yyyy", "MMMM yyyy"]
_TIMES = ["", " h:mm:ss tt", " h:mm tt", " HH:mm:ss", " HH:mm", " HH:mm:ss 'GMT'", " HH:mm:ss zzz", " HH:mm:ss K"]


def _offset(text: str | None):
    if not text:
        return None
    text = text.upper()
    if text in ("Z", "GMT", "UTC"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    delta = sign * timedelta(hours=hours, minutes=minutes)
    return timezone.utc if not delta else timezone(delta)


def _build(year, month, day, h, mi, s, f, ampm, tz) -> datetime:
    hour = int(h or 0)
    if ampm:
        if not 0 <= hour <= 12:
            raise ValueError("hour out of range for AM/PM")
        hour %= 12
        if ampm.upper().startswith("P"):
            hour += 12
    micro = int((f or "0").ljust(7, "0")[:7]) // 10
    return datetime(year, month, day, hour, int(mi or 0), int(s or 0), micro, tzinfo=_offset(tz))


def parse_any(text: str, today: date | None = None) -> datetime:
    """Read a date written in any of the common forms DateTime.Parse accepts.

    ISO 8601 (with or without time and offset, including Workday's
    ``2020-03-16-07:00``), US ``M/d/yyyy [h:mm[:ss] [AM|PM]]`` (which is also
    what CDate and Now produce), ``yyyy/M/d``, and forms with month names. A
    result without an offset is naive; the caller decides what that means.
    """
    if len(text) > 100:
        raise DateFormatError(f'"{text[:40]}..." is not a date')
    try:
        match = _ISO.match(text)
        if match:
            g = match.groupdict()
            return _build(int(g["y"]), int(g["mo"]), int(g["d"]), g["h"], g["mi"], g["s"], g["f"], None, g["tz"])
        match = _SLASHED.match(text)
        if match:
            g = match.groupdict()
            if g["h"] is not None and g["mi"] is None and not g["ampm"]:
                raise ValueError("a lone hour needs AM or PM")
            a, b, c = g["a"], g["b"], g["c"]
            if len(a) == 4:
                year, month, day = int(a), int(b), int(c)
            elif len(c) in (1, 2, 4) and len(a) <= 2:
                year = int(c) if len(c) == 4 else int(c) + (2000 if int(c) < 50 else 1900)
                month, day = int(a), int(b)
            else:
                raise ValueError("unrecognised slashed date")
            return _build(year, month, day, g["h"], g["mi"], g["s"], g["f"], g["ampm"], g["tz"])
    except ValueError:
        raise DateFormatError(f'"{text}" is not a valid date') from None
    styles = STYLES["allowwhitespaces"]
    for date_format in _NAMED_DATES:
        for time_format in _TIMES:
            try:
                return parse_exact(text, date_format + time_format, styles, today)
            except DateFormatError:
                continue
    raise DateFormatError(f'"{text}" is not a date in a form this service can read (for example 2021-06-30T08:00:00Z)')
