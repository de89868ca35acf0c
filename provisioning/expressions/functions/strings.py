"""Functions that build and reshape text."""

from __future__ import annotations

import base64
import re
import unicodedata

from ..errors import FunctionFailure
from ..patterns import PatternError, compile_pattern, extract_group, replace_group
from ..patterns import replace as regex_replace
from ..registry import function, optional
from ..values import MAX_TEXT_LENGTH, as_list, check_length, scalar_text
from ._checks import literal, reject


@function("Append", "source", "suffix",
          description="Takes a source string value and appends the suffix to the end of it (a null source "
                      "counts as empty).")
def append(args):
    source, suffix = args.text(0), args.text(1)
    if source is None and suffix is None:
        return None
    return check_length((source or "") + (suffix or ""))


@function("Join", "separator", "source", repeat_from=1,
          description="Combines several source values into one string, separated by the separator. "
                      "Every value of a multi-valued source is joined; null and empty values are skipped, "
                      "and the result is null if nothing is left.")
def join(args):
    separator = args.text(0) or ""
    parts = []
    for index in range(1, len(args)):
        for item in as_list(args.value(index)):
            text = scalar_text(item)
            if text != "":
                parts.append(text)
    if not parts:
        return None
    if len(parts) * len(separator) > MAX_TEXT_LENGTH:
        raise FunctionFailure(f"the result would be longer than {MAX_TEXT_LENGTH:,} characters")
    return check_length(separator.join(parts))


@function("Left", "String", "NumChars",
          description="Returns the given number of characters from the left of a string.")
def left(args):
    text = args.text(0)
    count = args.integer(1)
    if count is None:
        raise FunctionFailure("NumChars is null; it must be a whole number")
    if text is None:
        return ""
    if count < 0:
        return text
    return text[:count]


@function("Mid", "source", "start", "length",
          description="Returns the substring of source that starts at start (the first character is 1) "
                      "and is length characters long, or shorter at the end of the string.")
def mid(args):
    text, start, length = args.text(0), args.integer(1), args.integer(2)
    if start is None or length is None:
        raise FunctionFailure("start and length must be whole numbers, not null")
    if start < 1:
        raise FunctionFailure(f"start must be 1 or more (the first character is 1), got {start}")
    if length < 0:
        raise FunctionFailure(f"length must not be negative, got {length}")
    if text is None:
        return None
    return text[start - 1 : start - 1 + length]


# Letters that are not a base letter plus accents, so Unicode decomposition cannot simplify them.
_LIGATURES = str.maketrans({
    "æ": "ae", "Æ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE", "ß": "ss",
    "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D",
})


@function("NormalizeDiacritics", "source",
          description="Replaces characters with diacritics (accent marks) by their plain equivalents, "
                      "such as Zoë to Zoe and Æ to AE.")
def normalize_diacritics(args):
    text = args.text(0)
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped).translate(_LIGATURES)


# The Unicode categories .NET's ToTitleCase treats as breaking words (the reference lists them).
_SEPARATOR_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
                         "Sm", "Sc", "Sk", "So"}
_LETTER_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo"}


def _simple_upper(ch: str) -> str:
    # .NET maps one character to one character; Python's "ß".upper() would give "SS".
    upper = ch.upper()
    return upper if len(upper) == 1 else ch


def _simple_lower(ch: str) -> str:
    if ch == "\u0130":
        return "i"
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


def _title_default(text: str) -> str:
    out = []
    in_word = False
    for ch in text:
        category = unicodedata.category(ch)
        if category in _LETTER_CATEGORIES:
            out.append(ch if in_word else _simple_upper(ch))
            in_word = True
        elif ch == "'" and in_word:
            # An apostrophe inside a word keeps the word going: O'neil, not O'Neil.
            out.append(ch)
        elif category in _SEPARATOR_CATEGORIES:
            out.append(ch)
            in_word = False
        else:
            # Digits and marks belong to the word they are in but do not start one.
            out.append(ch)
    return "".join(out)


def _title_custom(text: str, separators: str) -> str:
    out = []
    at_start = True
    for ch in text:
        if ch in separators:
            out.append(ch)
            at_start = True
        else:
            out.append(_simple_upper(ch) if at_start else ch)
            at_start = False
    return "".join(out)


@function("PCase", "source", optional("wordSeparators"),
          description="Converts the first character of each word to upper case and the other characters "
                      "to lower case. Words are separated by the given characters, or else by spaces, "
                      "punctuation and symbols.")
def pcase(args):
    text = args.text(0)
    if text is None:
        return None
    separators = args.text(1) if args.given(1) else None
    lowered = "".join(_simple_lower(ch) for ch in text)
    if separators:
        return _title_custom(lowered, separators)
    return _title_default(lowered)


def _refuse_growth(text: str, old: str, new: str) -> None:
    # Checked before replacing, so nested Replace calls cannot build a huge string first.
    if len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT_LENGTH:
        raise FunctionFailure(f"the result would be longer than {MAX_TEXT_LENGTH:,} characters")


def _check_replace(call):
    pattern = literal(call, 2)
    if pattern is not None:
        try:
            compile_pattern(pattern)
        except PatternError as error:
            raise reject(call, 2, "Invalid regular expression", str(error)) from None


@function("Replace", "source", optional("oldValue"), optional("regexPattern"), optional("regexGroupName"),
          optional("replacementValue"), optional("replacementAttributeName"), optional("template"),
          check=_check_replace,
          description="Replaces values within a string, case-sensitively: oldValue by replacementValue, "
                      "oldValue inside template by source, or what regexPattern (or its regexGroupName) "
                      "matches by replacementValue; with replacementAttributeName, fills an empty source "
                      "from another attribute.")
def replace(args):
    source = args.text(0)
    if args.given(2):
        pattern = args.text(2)
        if pattern is None:
            raise FunctionFailure("regexPattern is null")
        group = args.text(3) if args.given(3) else None
        if group is not None and args.given(5):
            # Fill an empty source from another attribute, through the named group.
            if source:
                return source
            other = args.text(5)
            if other is None:
                return None
            return extract_group(pattern, other, group)
        if not args.given(4):
            raise FunctionFailure("with regexPattern, also give replacementValue (or regexGroupName and "
                                  "replacementAttributeName)")
        if source is None:
            return None
        replacement = args.text(4) or ""
        if group is not None:
            return replace_group(pattern, source, group, replacement)
        return regex_replace(pattern, source, replacement)
    if args.given(1):
        old = args.text(1)
        if args.given(6):
            template = args.text(6)
            if source is None or template is None:
                return None
            if not old:
                return template
            _refuse_growth(template, old, source)
            return check_length(template.replace(old, source))
        if not args.given(4):
            raise FunctionFailure("with oldValue, also give replacementValue or template")
        if source is None:
            return None
        if not old:
            return source
        replacement = args.text(4) or ""
        _refuse_growth(source, old, replacement)
        return check_length(source.replace(old, replacement))
    raise FunctionFailure("give oldValue or regexPattern to say what to replace")


@function("StripSpaces", "source", description="Removes all space characters from the source string.")
def strip_spaces(args):
    text = args.text(0)
    return None if text is None else text.replace(" ", "")


_CULTURE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
# Turkish and Azerbaijani pair dotted and dotless i differently from every other culture.
_TURKIC = {"tr", "az"}


def _culture(args, index) -> str:
    if not args.given(index):
        return ""
    culture = args.text(index) or ""
    if culture and not _CULTURE.match(culture):
        raise FunctionFailure(f'"{culture}" is not a culture name such as en-US or tr-TR')
    return culture.split("-")[0].lower()


def _check_culture(call):
    culture = literal(call, 1)
    if culture and not _CULTURE.match(culture):
        raise reject(call, 1, "Invalid culture", f'"{culture}" is not a culture name such as en-US or tr-TR')


@function("ToLower", "source", optional("culture"), check=_check_culture,
          description="Converts the source string to lower case, using the rules of the given culture "
                      "(invariant culture if none).")
def to_lower(args):
    text = args.text(0)
    language = _culture(args, 1)
    if text is None:
        return None
    if language in _TURKIC:
        text = text.replace("I", "ı").replace("İ", "i")
    return "".join(_simple_lower(ch) for ch in text)


@function("ToUpper", "source", optional("culture"), check=_check_culture,
          description="Converts the source string to upper case, using the rules of the given culture "
                      "(invariant culture if none).")
def to_upper(args):
    text = args.text(0)
    language = _culture(args, 1)
    if text is None:
        return None
    if language in _TURKIC:
        text = text.replace("i", "İ").replace("ı", "I")
    return "".join(_simple_upper(ch) for ch in text)


@function("Word", "String", "WordNumber", "Delimiters",
          description="Returns the word at position WordNumber (the first is 1), where words are separated "
                      "by any of the delimiter characters; empty if there is no such word.")
def word(args):
    text, number, delimiters = args.text(0), args.integer(1), args.text(2) or ""
    if text is None or number is None or number < 1:
        return ""
    if delimiters:
        words = [w for w in re.split("[" + re.escape(delimiters) + "]", text) if w]
    else:
        words = [text] if text else []
    return words[number - 1] if number <= len(words) else ""


def _fold(text: str) -> str:
    # Character by character, so positions in the folded text are positions in the original.
    return "".join(_simple_lower(ch) for ch in text)


_COMPARE_TYPES = {"vbbinarycompare": 0, "vbtextcompare": 1, "0": 0, "1": 1}


def _check_instr(call):
    compare = literal(call, 3)
    if compare is not None and compare.lower() not in _COMPARE_TYPES:
        raise reject(call, 3, "Invalid compare type", f'"{compare}" is not vbBinaryCompare or vbTextCompare')


@function("InStr", "value1", "value2", optional("start"), optional("compareType"), returns="number",
          check=_check_instr,
          description="Returns the position (from 1) of the first occurrence of value2 in value1 at or after "
                      "start, or 0. compareType vbTextCompare ignores case; vbBinaryCompare (the default) "
                      "does not.")
def instr(args):
    haystack, needle = args.text(0), args.text(1)
    start = args.integer(2) if args.given(2) else 1
    if start is None:
        start = 1
    if start < 1:
        raise FunctionFailure(f"start must be 1 or more, got {start}")
    compare = 0
    if args.given(3):
        value = args.text(3)
        if value is not None:
            if value.lower() not in _COMPARE_TYPES:
                raise FunctionFailure(f'compareType must be vbBinaryCompare or vbTextCompare, got "{value}"')
            compare = _COMPARE_TYPES[value.lower()]
    if not haystack:
        return 0
    if not needle:
        return start
    if start > len(haystack):
        return 0
    if compare == 1:
        haystack, needle = _fold(haystack), _fold(needle)
    return haystack.find(needle, start - 1) + 1


@function("ConvertToBase64", "source",
          description="Converts the string to base64 of its Unicode (UTF-16LE) bytes.")
def convert_to_base64(args):
    text = args.text(0)
    if text is None:
        return None
    return check_length(base64.b64encode(text.encode("utf-16-le", "surrogatepass")).decode("ascii"))


@function("ConvertToUTF8Hex", "source",
          description="Converts the string to the hexadecimal digits of its UTF-8 bytes.")
def convert_to_utf8_hex(args):
    text = args.text(0)
    if text is None:
        return None
    return check_length(text.encode("utf-8", "surrogatepass").hex().upper())
