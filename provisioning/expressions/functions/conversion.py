"""Functions that convert values or generate new ones."""

from __future__ import annotations

import secrets
import string
import uuid

from ..errors import FunctionFailure
from ..registry import function, optional


@function("BitAnd", "value1", "value2", returns="number",
          description="The bitwise AND of two whole numbers (for example BitAnd(&HF, &HF7) is 7).")
def bit_and(args):
    first, second = args.integer(0), args.integer(1)
    if first is None or second is None:
        return None
    return first & second


@function("CStr", "value", description="Converts a number, reference or boolean value to a string.")
def cstr(args):
    return args.text(0)


@function("Guid", description="Generates a new random GUID.")
def guid(args):
    return str(uuid.uuid4())


# The character classes of Windows' "password must meet complexity requirements".
_DIGITS = string.digits
_SPECIALS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
_UPPER = string.ascii_uppercase
_LOWER = string.ascii_lowercase
MAX_RANDOM_LENGTH = 256


@function("RandomString", "Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital",
          "MinimumLowerCase", optional("CharactersToAvoid"),
          description="Generates a random string of Length characters (at most 256) with at least the given "
                      "numbers of digits, special characters, capitals and lower-case letters, avoiding the "
                      "given characters.")
def random_string(args):
    names = ("Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase")
    numbers = []
    for index, name in enumerate(names):
        value = args.integer(index)
        if value is None or value < 0:
            raise FunctionFailure(f"{name} must be a whole number of 0 or more")
        numbers.append(value)
    length, *minimums = numbers
    if not 1 <= length <= MAX_RANDOM_LENGTH:
        raise FunctionFailure(f"Length must be between 1 and {MAX_RANDOM_LENGTH}, got {length}")
    if sum(minimums) > length:
        raise FunctionFailure(f"the minimums add up to {sum(minimums)}, more than Length ({length})")
    avoid = set(args.text(5) or "") if args.given(5) else set()
    pools = ["".join(c for c in pool if c not in avoid) for pool in (_DIGITS, _SPECIALS, _UPPER, _LOWER)]
    chosen = []
    rng = secrets.SystemRandom()
    for pool, minimum, name in zip(pools, minimums, names[1:], strict=True):
        if minimum and not pool:
            raise FunctionFailure(f"{name} is {minimum} but CharactersToAvoid excludes every such character")
        chosen.extend(rng.choice(pool) for _ in range(minimum))
    everything = "".join(pools)
    if len(chosen) < length and not everything:
        raise FunctionFailure("CharactersToAvoid excludes every character")
    chosen.extend(rng.choice(everything) for _ in range(length - len(chosen)))
    rng.shuffle(chosen)
    return "".join(chosen)
