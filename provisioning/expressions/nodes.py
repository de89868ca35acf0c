"""The parsed form of an expression: an immutable tree of nodes.

Every node remembers the character index where it starts, so evaluation errors
can point back into the text the administrator wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Node:
    position: int


@dataclass(frozen=True, slots=True)
class StringLiteral(Node):
    value: str


@dataclass(frozen=True, slots=True)
class NumberLiteral(Node):
    value: int | Decimal
    text: str


@dataclass(frozen=True, slots=True)
class Constant(Node):
    """A bare name the language predefines, such as ``vbTextCompare``."""

    name: str
    value: int


@dataclass(frozen=True, slots=True)
class AttributeRef(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Omitted(Node):
    """An argument left empty, as in ``Switch([IsSoftDeleted], , "False", "True")``."""


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``left = right`` and friends; allowed wherever an argument is (IIF conditions, CBool)."""

    operator: str
    left: Node
    right: Node


def iter_nodes(root: Node):
    """Yield every node of a tree, without recursion."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Call):
            stack.extend(reversed(node.args))
        elif isinstance(node, Comparison):
            stack.append(node.right)
            stack.append(node.left)


@dataclass(frozen=True)
class Expression:
    """A parsed attribute-mapping expression. Build one with :func:`parse`."""

    source: str
    root: Node
    _attributes: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        names = frozenset(node.name for node in iter_nodes(self.root) if isinstance(node, AttributeRef))
        object.__setattr__(self, "_attributes", names)

    @property
    def attributes(self) -> frozenset[str]:
        """The source attribute names the expression reads, spelled as written."""
        return self._attributes

    def __str__(self) -> str:
        return self.source
