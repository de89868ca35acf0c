"""Cutting work into batches: API calls that take at most N items, bulk writes
of N rows, ``IN`` lists of N ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of at most ``size`` items (the last may be shorter)."""
    if size < 1:
        raise ValueError("a chunk holds at least one item")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
