"""Reading expression text into a tree, with errors that point at the character.

The grammar, as the reference describes it plus what its own examples use::

    expression  := argument END
    argument    := operand [ ("=" | "<>" | "<" | "<=" | ">" | ">=") operand ]
    operand     := Name "(" [ slot { "," slot } ] ")"      function call
                 | "[" attribute name "]"
                 | '"' text with \\" and \\\\ escapes '"'
                 | number | &Hhex                          (Join("", 1000, …), BitAnd(&HF, &HF7))
                 | vbBinaryCompare | vbTextCompare         (InStr's compare types)
    slot        := argument | nothing                      (an empty argument)

Comparisons come from the reference's IIF and CBool examples
(``IIF([country]="USA", …)``, ``DateDiff(…) > 5``).

The parser is recursive descent, but nesting is capped at MAX_DEPTH function
calls, so its recursion is bounded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from .errors import ExpressionError
from .nodes import AttributeRef, Call, Comparison, Constant, Expression, Node, NumberLiteral, Omitted, StringLiteral
from .registry import REGISTRY, UNSUPPORTED
from .values import MAX_NUMBER_DIGITS

# Azure refuses expressions longer than this (known issues: "Maximum characters
# for attribute-mapping expressions").
MAX_LENGTH = 10_000
MAX_DEPTH = 64

CONSTANTS = {"vbBinaryCompare": 0, "vbTextCompare": 1}
COMPARISON_OPERATORS = ("=", "<>", "<", "<=", ">", ">=")

_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_CHARS = _NAME_START + "0123456789"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, attribute, string, number, op, "(", ")", ",", end
    text: str
    position: int
    value: object = None


def _shown(token: Token) -> str:
    if token.kind == "end":
        return "end of the expression"
    text = token.text if len(token.text) <= 30 else token.text[:27] + "..."
    return f'"{text}"' if '"' not in text else f"'{text}'"


def tokenize(source: str) -> list[Token]:
    """Split the text into tokens; raises ExpressionError on a malformed one."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in _NAME_START:
            while i < n and source[i] in _NAME_CHARS:
                i += 1
            tokens.append(Token("name", source[start:i], start))
        elif ch == "[":
            end = i + 1
            while end < n and source[end] not in '][\n"':
                end += 1
            if end >= n or source[end] != "]":
                raise ExpressionError(
                    "Unclosed bracket", start, "the attribute name that starts here has no closing ]"
                )
            name = source[start + 1 : end]
            if not name.strip():
                raise ExpressionError("Empty attribute name", start, "write the attribute's name between [ and ]")
            if name != name.strip():
                raise ExpressionError(
                    "Spaces around an attribute name", start, f"write [{name.strip()}] without the spaces"
                )
            tokens.append(Token("attribute", source[start : end + 1], start, name))
            i = end + 1
        elif ch == '"':
            i += 1
            chars = []
            while True:
                if i >= n:
                    raise ExpressionError(
                        "Unclosed quote", start, 'the text constant that starts here has no closing "'
                    )
                c = source[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and source[i + 1] in '"\\':
                    chars.append(source[i + 1])
                    i += 2
                    continue
                # Any other backslash stays as written, so "\d" in a pattern means \d.
                chars.append(c)
                i += 1
            tokens.append(Token("string", source[start:i], start, "".join(chars)))
        elif ch in _DIGITS or (ch == "-" and i + 1 < n and source[i + 1] in _DIGITS):
            i += 1
            while i < n and source[i] in _DIGITS:
                i += 1
            if i + 1 < n and source[i] == "." and source[i + 1] in _DIGITS:
                i += 1
                while i < n and source[i] in _DIGITS:
                    i += 1
            text = source[start:i]
            if sum(c in _DIGITS for c in text) > MAX_NUMBER_DIGITS:
                raise ExpressionError("Number too long", start, f"numbers can have at most {MAX_NUMBER_DIGITS} digits")
            value = Decimal(text) if "." in text else int(text)
            tokens.append(Token("number", text, start, value))
        elif ch == "&" and i + 1 < n and source[i + 1] in "hH":
            i += 2
            while i < n and source[i] in _HEX:
                i += 1
            text = source[start:i]
            if len(text) == 2:
                raise ExpressionError("Incomplete number", start, "&H must be followed by hexadecimal digits, as in &HF7")
            if len(text) - 2 > 16:
                raise ExpressionError("Number too long", start, "hexadecimal numbers can have at most 16 digits")
            tokens.append(Token("number", text, start, int(text[2:], 16)))
        elif ch in "(),":
            i += 1
            tokens.append(Token(ch, ch, start))
        elif ch in "=<>!":
            two = source[i : i + 2]
            if two in ("<>", "<=", ">="):
                i += 2
                tokens.append(Token("op", two, start))
            elif two == "==":
                raise ExpressionError('Unexpected "=="', start, "compare with a single =")
            elif two == "!=":
                raise ExpressionError('Unexpected "!="', start, 'write "not equal" as <>')
            elif ch == "!":
                raise ExpressionError('Unexpected "!"', start, "use the Not() function")
            else:
                i += 1
                tokens.append(Token("op", ch, start))
        else:
            raise ExpressionError(
                f'Unexpected "{ch}"', start, 'expected a function, an [attribute] or a "text constant"'
            )
    tokens.append(Token("end", "", n))
    return tokens


def closest_function(name: str) -> str:
    """The known function whose name is nearest to ``name``."""
    names = sorted(REGISTRY)
    for known in names:
        if known.lower() == name.lower():
            return known
    lowered = {known.lower(): known for known in names}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.0)
    return lowered[match[0]] if match else names[0]


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def unexpected(self, expected: str) -> ExpressionError:
        token = self.token
        if token.kind == "end":
            return ExpressionError("Unexpected end of the expression", token.position, expected)
        return ExpressionError(f"Unexpected {_shown(token)}", token.position, expected)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise ExpressionError(
                "The expression is empty", 0, 'write a function, an [attribute] or a "text constant"'
            )
        node = self.argument(0)
        if self.token.kind != "end":
            raise self.unexpected("expected the end of the expression")
        return node

    def argument(self, depth: int) -> Node:
        left = self.operand(depth)
        if self.token.kind != "op":
            return left
        operator = self.advance()
        right = self.operand(depth)
        if self.token.kind == "op":
            raise self.unexpected("comparisons cannot be chained; nest IIF() instead")
        return Comparison(operator.position, operator.text, left, right)

    def operand(self, depth: int) -> Node:
        token = self.token
        if token.kind == "string":
            self.advance()
            return StringLiteral(token.position, token.value)
        if token.kind == "attribute":
            self.advance()
            return AttributeRef(token.position, token.value)
        if token.kind == "number":
            self.advance()
            return NumberLiteral(token.position, token.value, token.text)
        if token.kind == "name":
            if self.tokens[self.index + 1].kind == "(":
                return self.call(depth)
            return self.bare_name()
        raise self.unexpected('expected a function, an [attribute] or a "text constant"')

    def bare_name(self) -> Node:
        token = self.advance()
        if token.text in CONSTANTS:
            return Constant(token.position, token.text, CONSTANTS[token.text])
        if token.text in REGISTRY:
            raise ExpressionError(
                f'Missing "(" after {token.text}', token.position + len(token.text), f"write {token.text}(…)"
            )
        raise ExpressionError(
            f'Unknown name "{token.text}"',
            token.position,
            f'write attributes in square brackets ([{token.text}]) and text in double quotes ("{token.text}")',
        )

    def call(self, depth: int) -> Node:
        name_token = self.advance()
        name = name_token.text
        if depth + 1 > MAX_DEPTH:
            raise ExpressionError(
                "Too deeply nested", name_token.position, f"at most {MAX_DEPTH} functions can be nested in one another"
            )
        spec = REGISTRY.get(name)
        if spec is None:
            if name in UNSUPPORTED:
                raise ExpressionError(f'Unsupported function "{name}"', name_token.position, UNSUPPORTED[name])
            raise ExpressionError(
                f'Unknown function "{name}"', name_token.position, f'did you mean "{closest_function(name)}"?'
            )
        self.advance()  # "("
        args: list[Node] = []
        if self.token.kind == ")":
            self.advance()
        else:
            while True:
                if self.token.kind in (",", ")"):
                    args.append(Omitted(self.token.position))
                else:
                    args.append(self.argument(depth + 1))
                if self.token.kind == ",":
                    self.advance()
                    continue
                if self.token.kind == ")":
                    self.advance()
                    break
                if self.token.kind == "end":
                    raise ExpressionError(
                        'Missing ")"',
                        self.token.position,
                        f"{name}( at character {name_token.position} is not closed",
                    )
                raise self.unexpected(f'expected "," or ")" to continue {name}(')
        call = Call(name_token.position, name, tuple(args))
        self.check_arguments(spec, call)
        return call

    def check_arguments(self, spec, call: Call) -> None:
        problem = spec.arity_problem(len(call.args))
        if problem:
            raise ExpressionError("Wrong number of arguments", call.position, f"{problem}: {spec.signature}")
        for index, arg in enumerate(call.args):
            param = spec.param(index)
            if isinstance(arg, Omitted) and not param.optional:
                token = self.source[arg.position] if arg.position < len(self.source) else ""
                headline = f'Unexpected "{token}"' if token else "Unexpected end of the expression"
                raise ExpressionError(headline, arg.position, f"expected an argument (the {param.name} of {spec.name})")
        if spec.check is not None:
            spec.check(call)


@lru_cache(maxsize=2048)
def _parse(source: str) -> Expression:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            "Expression too long",
            MAX_LENGTH,
            f"at most {MAX_LENGTH:,} characters are allowed, this one has {len(source):,}",
        )
    return Expression(source, _Parser(source).parse())


def parse(expression: str) -> Expression:
    """Parse expression text; raises ExpressionError (with ``position``) if it is malformed.

    Results are cached, so parsing the same mapping for every user costs one parse.
    """
    if not isinstance(expression, str):
        raise TypeError(f"an expression is text, not {type(expression).__name__}")
    return _parse(expression)
