"""OData query options as Graph applies them to directory objects:
``$select``, ``$filter``, ``$orderby``, ``$search``, ``$top``.

Directory objects support a fixed set of filter clauses per property; some
only as *advanced queries* (``ConsistencyLevel: eventual`` and ``$count=true``).
The tables below follow Graph's "advanced query capabilities" reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import GraphError, bad_request, unsupported_query

DEFAULT, ADVANCED = "default", "advanced"

# (property, operation) -> DEFAULT | ADVANCED; operations: eq, startswith, range (ge/le/gt/lt), null, any-eq, any-sw
_USER_SUPPORT: dict[tuple[str, str], str] = {}
_GROUP_SUPPORT: dict[tuple[str, str], str] = {}
_SP_SUPPORT: dict[tuple[str, str], str] = {}


def _fill(table: dict, level: str, op: str, names: str) -> None:
    for name in names.split():
        table[(name, op)] = level


_fill(_USER_SUPPORT, DEFAULT, "eq", """id accountEnabled ageGroup city consentProvidedForMinor country creationType
      department displayName employeeId externalUserState givenName jobTitle mail mailNickname
      onPremisesImmutableId onPremisesSecurityIdentifier onPremisesSyncEnabled state surname usageLocation
      userPrincipalName userType""")
_fill(_USER_SUPPORT, DEFAULT, "startswith", """city country department displayName givenName jobTitle mail
      mailNickname surname usageLocation userPrincipalName""")
_fill(_USER_SUPPORT, DEFAULT, "range", "createdDateTime")
_fill(_USER_SUPPORT, DEFAULT, "any-eq", "otherMails proxyAddresses imAddresses")
_fill(_USER_SUPPORT, DEFAULT, "any-sw", "otherMails proxyAddresses imAddresses")
_fill(_USER_SUPPORT, ADVANCED, "eq", """companyName employeeType faxNumber mobilePhone officeLocation
      onPremisesDistinguishedName onPremisesSamAccountName postalCode preferredLanguage streetAddress""")
_fill(_USER_SUPPORT, ADVANCED, "startswith", """companyName faxNumber mobilePhone officeLocation
      onPremisesDistinguishedName onPremisesSamAccountName postalCode streetAddress""")
_fill(_USER_SUPPORT, ADVANCED, "range", "employeeHireDate")
_fill(_USER_SUPPORT, ADVANCED, "any-eq", "businessPhones")
_fill(_USER_SUPPORT, ADVANCED, "any-sw", "businessPhones")
_fill(_USER_SUPPORT, ADVANCED, "null", """city companyName country createdDateTime department displayName
      employeeId faxNumber givenName jobTitle mail mailNickname mobilePhone officeLocation
      onPremisesSecurityIdentifier onPremisesSyncEnabled postalCode preferredLanguage state streetAddress
      surname usageLocation userType""")

_fill(_GROUP_SUPPORT, DEFAULT, "eq", """id classification displayName isAssignableToRole mail mailEnabled
      mailNickname membershipRule membershipRuleProcessingState onPremisesSecurityIdentifier
      onPremisesSyncEnabled securityEnabled""")
_fill(_GROUP_SUPPORT, DEFAULT, "startswith", "classification displayName mail mailNickname membershipRule")
_fill(_GROUP_SUPPORT, DEFAULT, "any-eq",
      "groupTypes proxyAddresses resourceProvisioningOptions resourceBehaviorOptions")
_fill(_GROUP_SUPPORT, DEFAULT, "any-sw", "proxyAddresses")
_fill(_GROUP_SUPPORT, ADVANCED, "eq", "description preferredLanguage onPremisesSamAccountName")
_fill(_GROUP_SUPPORT, ADVANCED, "startswith", "description onPremisesSamAccountName")
_fill(_GROUP_SUPPORT, ADVANCED, "range", "createdDateTime expirationDateTime")
_fill(_GROUP_SUPPORT, ADVANCED, "null", "createdDateTime description displayName mail mailNickname")

_fill(_SP_SUPPORT, DEFAULT, "eq", """id accountEnabled appId applicationTemplateId displayName
      preferredSingleSignOnMode servicePrincipalType""")
_fill(_SP_SUPPORT, DEFAULT, "startswith", "displayName")
_fill(_SP_SUPPORT, DEFAULT, "any-eq", "alternativeNames servicePrincipalNames tags")
_fill(_SP_SUPPORT, DEFAULT, "any-sw", "alternativeNames servicePrincipalNames tags")
_fill(_SP_SUPPORT, ADVANCED, "eq", "appOwnerOrganizationId appRoleAssignmentRequired description homepage notes")
_fill(_SP_SUPPORT, ADVANCED, "startswith", "description homepage notes")
_fill(_SP_SUPPORT, ADVANCED, "null", "description displayName homepage notes")


@dataclass(frozen=True)
class EntityQuery:
    """What can be asked of one kind of directory object."""

    type_name: str       # microsoft.graph.user
    resource: str        # User (as named in filter errors)
    types: dict          # property -> Graph type
    default_select: tuple
    filter_support: dict
    orderable: tuple
    searchable: tuple


def parse_select(raw: str | None, entity: EntityQuery, extra: frozenset = frozenset()) -> tuple | None:
    """The properties asked for, in the order asked, or None for the default set."""
    if raw is None:
        return None
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name == "*":
            for known in entity.types:
                if known not in names:
                    names.append(known)
            continue
        if name not in entity.types and name not in extra:
            # Property names are case-insensitive in OData URLs.
            match = next((k for k in list(entity.types) + list(extra) if k.lower() == name.lower()), None)
            if match is None:
                raise GraphError(400, "Request_UnsupportedQuery",
                                 f"Could not find a property named '{name}' on type '{entity.type_name}'.")
            name = match
        if name not in names:
            names.append(name)
    return tuple(names) if names else None


# ------------------------------------------------------------------ $filter

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<lp>\()
    | (?P<rp>\))
    | (?P<comma>,)
    | (?P<colon>:)
    | (?P<word>[A-Za-z0-9_@./+\-#]+)
    )""", re.VERBOSE)

_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


class _Tokens:
    def __init__(self, text: str):
        self.items: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise _syntax(f"character '{text[pos]}' is not valid at position {pos} in '{text}'.")
            kind = match.lastgroup
            value = match.group(kind)
            self.items.append((kind, value))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0
        self.text = text

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else None

    def take(self) -> tuple[str, str]:
        item = self.peek()
        if item is None:
            raise _syntax(f"unexpected end of '{self.text}'.")
        self.pos += 1
        return item

    def expect(self, kind: str) -> str:
        got_kind, value = self.take()
        if got_kind != kind:
            raise _syntax(f"'{value}' is not expected at this position in '{self.text}'.")
        return value

    def is_word(self, word: str, offset: int = 0) -> bool:
        item = self.peek(offset)
        return item is not None and item[0] == "word" and item[1].lower() == word


def _syntax(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: Syntax error: {detail}")


# AST nodes are tuples: ("or", a, b) ("and", a, b) ("not", a) ("cmp", op, prop, value)
# ("func", name, prop, value) ("any", prop, op, value) ("in", prop, [values])

def parse_filter(text: str):
    tokens = _Tokens(text)
    node = _parse_or(tokens)
    if tokens.peek() is not None:
        raise _syntax(f"'{tokens.peek()[1]}' is not expected at this position in '{tokens.text}'.")
    return node


def _parse_or(t: _Tokens):
    node = _parse_and(t)
    while t.is_word("or"):
        t.take()
        node = ("or", node, _parse_and(t))
    return node


def _parse_and(t: _Tokens):
    node = _parse_not(t)
    while t.is_word("and"):
        t.take()
        node = ("and", node, _parse_not(t))
    return node


def _parse_not(t: _Tokens):
    if t.is_word("not"):
        t.take()
        return ("not", _parse_not(t))
    return _parse_primary(t)


def _literal(t: _Tokens) -> Any:
    kind, value = t.take()
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "word":
        lower = value.lower()
        if lower == "true":
            return True
        if lower == "false":
            return False
        if lower == "null":
            return None
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?", value):
            return ("dt", value)
        if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", value):
            return value
    raise _syntax(f"'{value}' is not a valid literal in '{t.text}'.")


def _parse_primary(t: _Tokens):
    item = t.peek()
    if item is None:
        raise _syntax(f"unexpected end of '{t.text}'.")
    if item[0] == "lp":
        t.take()
        node = _parse_or(t)
        t.expect("rp")
        return node
    if item[0] != "word":
        raise _syntax(f"'{item[1]}' is not expected at this position in '{t.text}'.")
    word = item[1]
    nxt = t.peek(1)
    if nxt is not None and nxt[0] == "lp" and "/" not in word:
        name = word.lower()
        if name not in ("startswith", "endswith"):
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported Query. The function '{word}' is not supported.")
        t.take()
        t.take()
        prop = t.expect("word")
        t.expect("comma")
        value = _literal(t)
        t.expect("rp")
        return ("func", name, prop, value)
    if "/" in word and word.lower().endswith(("/any", "/all")):
        prop, _, quantifier = word.rpartition("/")
        t.take()
        t.expect("lp")
        var = t.expect("word")
        t.expect("colon")
        inner = t.peek()
        if inner and inner[0] == "word" and inner[1].lower() in ("startswith", "endswith"):
            fname = t.take()[1].lower()
            t.expect("lp")
            if t.expect("word") != var:
                raise _syntax(f"the lambda variable must be '{var}'.")
            t.expect("comma")
            value = _literal(t)
            t.expect("rp")
            t.expect("rp")
            return ("any", prop, fname, value)
        if t.expect("word") != var:
            raise _syntax(f"the lambda variable must be '{var}'.")
        op = t.expect("word").lower()
        if op not in _COMPARE:
            raise _syntax(f"'{op}' is not a comparison operator.")
        value = _literal(t)
        t.expect("rp")
        if quantifier.lower() != "any":
            raise unsupported_query()
        return ("any", prop, op, value)
    t.take()
    op_item = t.take()
    op = op_item[1].lower()
    if op == "in":
        t.expect("lp")
        values = [_literal(t)]
        while t.peek() and t.peek()[0] == "comma":
            t.take()
            values.append(_literal(t))
        t.expect("rp")
        return ("in", word, values)
    if op not in _COMPARE:
        raise _syntax(f"'{op_item[1]}' is not expected at this position in '{t.text}'.")
    return ("cmp", op, word, _literal(t))


def _normalize_dt(value: Any) -> str:
    if isinstance(value, tuple):
        value = value[1]
    text = str(value)
    if len(text) == 10:
        text += "T00:00:00Z"
    if not text.endswith("Z"):
        text += "Z"
    return text


def compile_filter(text: str, entity: EntityQuery, advanced: bool) -> tuple[Callable[[Any], bool], Any]:
    """A predicate over objects with ``.get(name)``, and the parsed tree (for index lookups)."""
    tree = parse_filter(text)
    return _compile(tree, entity, advanced), tree


def _resolve(prop: str, entity: EntityQuery) -> str:
    if prop in entity.types:
        return prop
    match = next((k for k in entity.types if k.lower() == prop.lower()), None)
    if match is None:
        raise GraphError(400, "Request_UnsupportedQuery",
                         f"Could not find a property named '{prop}' on type '{entity.type_name}'.")
    return match


def _require(entity: EntityQuery, prop: str, op: str, advanced: bool) -> None:
    level = entity.filter_support.get((prop, op))
    if level is None or (level == ADVANCED and not advanced):
        raise unsupported_query(
            f"Unsupported or invalid query filter clause specified for property '{prop}' of resource "
            f"'{entity.resource}'."
        )


def _advanced_operator(name: str, advanced: bool) -> None:
    if not advanced:
        raise unsupported_query(
            f"Operator '{name}' is not supported because the required parameters might be missing. "
            "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
            "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compile(node, entity: EntityQuery, advanced: bool) -> Callable[[Any], bool]:
    kind = node[0]
    if kind in ("or", "and"):
        left = _compile(node[1], entity, advanced)
        right = _compile(node[2], entity, advanced)
        if kind == "or":
            return lambda obj: left(obj) or right(obj)
        return lambda obj: left(obj) and right(obj)
    if kind == "not":
        _advanced_operator("not", advanced)
        inner = _compile(node[1], entity, advanced)
        return lambda obj: not inner(obj)
    if kind == "func":
        _, name, prop, value = node
        prop = _resolve(prop, entity)
        if name == "endswith":
            _advanced_operator("endsWith", advanced)
            level = entity.filter_support.get((prop, "startswith"))
            if level is None:
                _require(entity, prop, "startswith", advanced)
        else:
            _require(entity, prop, "startswith", advanced)
        needle = str(value).lower()
        if name == "startswith":
            return lambda obj: (obj.get(prop) or "").lower().startswith(needle)
        return lambda obj: (obj.get(prop) or "").lower().endswith(needle)
    if kind == "any":
        _, prop, op, value = node
        prop = _resolve(prop, entity)
        if op in ("startswith", "endswith"):
            _require(entity, prop, "any-sw", advanced)
            needle = str(value).lower()
            if op == "startswith":
                return lambda obj: any(str(v).lower().startswith(needle) for v in obj.get(prop) or ())
            return lambda obj: any(str(v).lower().endswith(needle) for v in obj.get(prop) or ())
        if op != "eq":
            _advanced_operator(op, advanced)
        _require(entity, prop, "any-eq", advanced)
        needle = str(value).lower()
        if op == "eq":
            return lambda obj: any(str(v).lower() == needle for v in obj.get(prop) or ())
        return lambda obj: all(str(v).lower() != needle for v in obj.get(prop) or ())
    if kind == "in":
        _, prop, values = node
        prop = _resolve(prop, entity)
        _require(entity, prop, "eq", advanced)
        wanted = {_text(v).lower() for v in values if v is not None}
        return lambda obj: (_text(obj.get(prop)) or "").lower() in wanted
    # comparison
    _, op, prop, value = node
    prop = _resolve(prop, entity)
    ptype = entity.types.get(prop)
    if value is None:
        if op not in ("eq", "ne"):
            raise unsupported_query()
        _require(entity, prop, "null", advanced)
        if op == "ne":
            _advanced_operator("ne", advanced)
            return lambda obj: obj.get(prop) not in (None, "", ())
        return lambda obj: obj.get(prop) in (None, "", ())
    if op in ("ge", "gt", "le", "lt"):
        _require(entity, prop, "range", advanced)
        bound = _normalize_dt(value)
        compare = {"ge": lambda a: a >= bound, "gt": lambda a: a > bound,
                   "le": lambda a: a <= bound, "lt": lambda a: a < bound}[op]
        return lambda obj: obj.get(prop) is not None and compare(obj.get(prop))
    if op == "ne":
        _advanced_operator("ne", advanced)
    _require(entity, prop, "eq", advanced)
    if ptype == "bool":
        if not isinstance(value, bool):
            raise GraphError(400, "BadRequest",
                             f"A binary operator with incompatible types was detected. Found operand types "
                             f"'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'.")
        if op == "eq":
            return lambda obj: bool(obj.get(prop)) == value
        return lambda obj: bool(obj.get(prop)) != value
    if isinstance(value, bool):
        raise GraphError(400, "BadRequest",
                         "A binary operator with incompatible types was detected. Found operand types "
                         "'Edm.String' and 'Edm.Boolean' for operator kind 'Equal'.")
    needle = _text(value[1] if isinstance(value, tuple) else value).lower()
    if op == "eq":
        return lambda obj: (_text(obj.get(prop)) or "").lower() == needle
    return lambda obj: (_text(obj.get(prop)) or "").lower() != needle


def simple_equality(tree) -> tuple[str, list[str]] | None:
    """``prop eq 'x'`` / ``prop in (...)`` / an ``or`` of ``prop eq`` on one property:
    the property and the values, so an index can answer instead of a scan."""
    if tree is None:
        return None
    if tree[0] == "cmp" and tree[1] == "eq" and isinstance(tree[3], str):
        return tree[2], [tree[3]]
    if tree[0] == "in" and all(isinstance(v, str) for v in tree[2]):
        return tree[1], list(tree[2])
    if tree[0] == "or":
        left, right = simple_equality(tree[1]), simple_equality(tree[2])
        if left and right and left[0].lower() == right[0].lower():
            return left[0], left[1] + right[1]
    return None


# ------------------------------------------------------------------ $orderby, $search


def parse_orderby(raw: str, entity: EntityQuery) -> tuple[str, bool]:
    parts = raw.strip().split()
    if not parts or len(parts) > 2 or "," in raw:
        raise unsupported_query("Sorting not supported for current query.")
    prop = _resolve(parts[0], entity)
    descending = len(parts) == 2 and parts[1].lower() == "desc"
    if len(parts) == 2 and parts[1].lower() not in ("asc", "desc"):
        raise bad_request(f"Syntax error: '{parts[1]}' is not valid in $orderby.", code="BadRequest")
    if prop not in entity.orderable:
        raise unsupported_query("Sorting not supported for current query.")
    return prop, descending


_SEARCH_CLAUSE = re.compile(r'"([A-Za-z]+):([^"]*)"')
_WORD_SPLIT = re.compile(r"[\s\-_.@,;:()\[\]/\\]+|(?<=[a-z])(?=[A-Z])")


def compile_search(raw: str, entity: EntityQuery) -> Callable[[Any], bool]:
    """``$search="displayName:wa"`` (several clauses joined by AND / OR): a word-prefix match."""
    text = raw.strip()
    pieces = re.split(r'\s+(AND|OR)\s+', text)
    if not pieces or len(pieces) % 2 == 0:
        raise bad_request("Syntax error: invalid $search query.", code="BadRequest")
    clauses = []
    for index, piece in enumerate(pieces):
        if index % 2:
            clauses.append(piece)
            continue
        match = _SEARCH_CLAUSE.fullmatch(piece.strip())
        if not match:
            raise bad_request("Syntax error: invalid $search query.", code="BadRequest")
        prop = _resolve(match.group(1), entity)
        if prop not in entity.searchable:
            raise unsupported_query(f"Search on property '{prop}' is not supported.")
        term = match.group(2).strip().lower()
        clauses.append(_search_clause(prop, term))
    predicate = clauses[0]
    for index in range(1, len(clauses), 2):
        op, right, left = clauses[index], clauses[index + 1], predicate
        if op == "AND":
            predicate = (lambda l, r: lambda obj: l(obj) and r(obj))(left, right)
        else:
            predicate = (lambda l, r: lambda obj: l(obj) or r(obj))(left, right)
    return predicate


def _search_clause(prop: str, term: str) -> Callable[[Any], bool]:
    terms = [w for w in _WORD_SPLIT.split(term) if w]

    def match(obj) -> bool:
        value = obj.get(prop)
        if not value:
            return False
        words = [w.lower() for w in _WORD_SPLIT.split(str(value)) if w]
        return all(any(word.startswith(t) for word in words) for t in terms)

    return match
