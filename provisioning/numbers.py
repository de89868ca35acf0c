"""Whole numbers written by people and clients (a page size, a version, an id in a form)."""

from __future__ import annotations


def is_whole_number(text: object) -> bool:
    """Whether ``text`` is a non-negative whole number in ASCII digits. ``str.isdigit()`` alone also takes
    digits that ``int()`` refuses, such as "²", so a check with it alone let such input through to a 500."""
    return isinstance(text, str) and text.isascii() and text.isdigit()
