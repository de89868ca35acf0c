"""Regular expressions written by administrators, run safely.

Azure runs .NET regular expressions; the ``regex`` package accepts the same
syntax for everything the reference uses (``(?<name>…)`` groups, ``\\d``,
``\\s``, classes, quantifiers). Every match runs under a time limit, because a
pattern such as ``(a+)+$`` can otherwise take exponential time on one unlucky
attribute value and stall a whole provisioning cycle.
"""

from __future__ import annotations

from functools import lru_cache

import regex

from ..numbers import is_whole_number
from .errors import FunctionFailure
from .values import MAX_TEXT_LENGTH

TIMEOUT_SECONDS = 0.1

# .NET also spells named groups (?'name'…); the regex package only knows (?<name>…).
_QUOTED_GROUP = regex.compile(r"(?<!\\)((?:\\\\)*)\(\?'([A-Za-z_][A-Za-z0-9_]*)'")


class PatternError(ValueError):
    """A pattern that does not compile; the message says why."""


@lru_cache(maxsize=512)
def _compile(pattern: str):
    translated = _QUOTED_GROUP.sub(lambda m: f"{m.group(1)}(?<{m.group(2)}>", pattern)
    try:
        return regex.compile(translated, regex.VERSION0)
    except (regex.error, ValueError, OverflowError, RecursionError) as error:
        raise PatternError(f'"{pattern}" is not a valid regular expression ({error})') from None


def compile_pattern(pattern: str):
    """The compiled pattern; raises PatternError for one that does not compile."""
    return _compile(pattern)


def _compiled(pattern: str):
    try:
        return _compile(pattern)
    except PatternError as error:
        raise FunctionFailure(str(error)) from None


def _too_slow(pattern: str) -> FunctionFailure:
    return FunctionFailure(
        f'the regular expression "{pattern}" took too long (more than {TIMEOUT_SECONDS:g} s) '
        "on this value; simplify it, for example by removing nested quantifiers such as (a+)+"
    )


def search(pattern: str, text: str) -> bool:
    """Whether the pattern matches anywhere in the text (.NET Regex.IsMatch)."""
    compiled = _compiled(pattern)
    try:
        return compiled.search(text, timeout=TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise _too_slow(pattern) from None


def _matches(pattern: str, text: str):
    compiled = _compiled(pattern)
    try:
        yield from compiled.finditer(text, timeout=TIMEOUT_SECONDS)
    except TimeoutError:
        raise _too_slow(pattern) from None


def _group_key(compiled, name: str):
    if name in compiled.groupindex:
        return name
    if is_whole_number(name) and int(name) <= compiled.groups:
        return int(name)
    raise FunctionFailure(f'the regular expression has no group named "{name}"')


def _limit(size: int) -> None:
    # Checked while building, so a pattern that matches everywhere cannot exhaust memory first.
    if size > MAX_TEXT_LENGTH:
        raise FunctionFailure(f"the result would be longer than {MAX_TEXT_LENGTH:,} characters")


def _expand(template: str, match, text: str, compiled) -> str:
    """Apply .NET substitutions: $1, ${name}, $$, $&, $`, $', $+, $_."""
    out = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch != "$" or i + 1 == n:
            out.append(ch)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "&":
            out.append(match.group(0))
            i += 2
        elif nxt == "`":
            out.append(text[: match.start()])
            i += 2
        elif nxt == "'":
            out.append(text[match.end() :])
            i += 2
        elif nxt == "_":
            out.append(text)
            i += 2
        elif nxt == "+":
            last = match.lastindex
            out.append((match.group(last) or "") if last else "")
            i += 2
        elif nxt == "{":
            close = template.find("}", i + 2)
            name = template[i + 2 : close] if close != -1 else ""
            key = name if name in compiled.groupindex else (int(name) if name.isdigit() else None)
            if close != -1 and key is not None and (isinstance(key, str) or key <= compiled.groups):
                out.append(match.group(key) or "")
                i = close + 1
            else:
                out.append("$")
                i += 1
        elif nxt.isdigit():
            end = i + 1
            while end < n and template[end].isdigit():
                end += 1
            number = int(template[i + 1 : end]) if end - i - 1 <= 9 else compiled.groups + 1
            if number <= compiled.groups:
                out.append(match.group(number) or "")
                i = end
            else:
                out.append("$")
                i += 1
        else:
            out.append("$")
            i += 1
    return "".join(out)


def replace(pattern: str, text: str, template: str) -> str:
    """Replace every match with the template, expanding .NET substitutions (Regex.Replace)."""
    compiled = _compiled(pattern)
    pieces, size, last = [], 0, 0
    for match in _matches(pattern, text):
        piece = text[last : match.start()] + _expand(template, match, text, compiled)
        pieces.append(piece)
        size += len(piece)
        _limit(size)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def replace_group(pattern: str, text: str, group: str, replacement: str) -> str:
    """Replace, in every match, only the part the named group captured."""
    compiled = _compiled(pattern)
    key = _group_key(compiled, group)
    pieces, size, last = [], 0, 0
    for match in _matches(pattern, text):
        start, end = match.span(key)
        if start == -1:
            continue
        piece = text[last:start] + replacement
        pieces.append(piece)
        size += len(piece)
        _limit(size)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def extract_group(pattern: str, text: str, group: str) -> str | None:
    """What the named group captured in the first match, or None if nothing matched."""
    compiled = _compiled(pattern)
    key = _group_key(compiled, group)
    for match in _matches(pattern, text):
        if match.start(key) != -1:
            return match.group(key)
    return None
