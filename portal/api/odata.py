"""The part of OData's ``$filter`` that Graph's ``auditLogs/provisioning`` takes: comparisons of
activityDateTime (``ge gt le lt eq``), equality of the action, the status, the identities, the cycle, the
change, the job and the service principal, combined with ``and`` (and parentheses). Anything else is
refused with the reason, never guessed at."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db.models import Q

from provisioning.constants import Action, LogStatus


class FilterError(ValueError):
    """The filter is not one the API understands; the message says which part and why."""


_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<string>'(?:[^']|'')*')|(?P<word>[A-Za-z_][\w/]*)"
                    r"|(?P<literal>[0-9][0-9A-Za-z:.+\-]*))")
_COMPARISONS = {"eq": "", "ge": "__gte", "gt": "__gt", "le": "__lte", "lt": "__lt"}
_ACTIONS = {value[:1].lower() + value[1:]: value for value in Action.values}
_STATUSES = {value.lower(): value for value in LogStatus.values}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            raise FilterError(f"Syntax error at position {position} in $filter: {text[position:position + 20]!r}.")
        kind = found.lastgroup
        tokens.append(_Token(kind, found.group(kind), found.start(kind)))
        position = found.end()
    return tokens


def _string(token: _Token, name: str) -> str:
    if token.kind != "string":
        raise FilterError(f"{name} is compared with a quoted string, as {name} eq 'value'.")
    return token.text[1:-1].replace("''", "'")


def _moment(token: _Token) -> datetime:
    text = token.text[1:-1] if token.kind == "string" else token.text
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{text!r} is not a date and time such as 2024-05-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _uuid(text: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise FilterError(f"{name}: {text!r} is not a GUID.") from None


def _moment_field(column: str):
    def compare(name: str, operator: str, value: _Token) -> Q:
        return Q(**{f"{column}{_COMPARISONS[operator]}": _moment(value)})
    return compare


def _equal(column: str, *, choices: dict[str, str] | None = None, guid: bool = False):
    """``name eq 'value'`` on ``column``; ``choices`` maps Graph's words to the stored ones."""
    def compare(name: str, operator: str, value: _Token) -> Q:
        if operator != "eq":
            raise FilterError(f"{name} takes only eq.")
        text = value.text if guid and value.kind == "literal" else _string(value, name)
        if guid:
            return Q(**{column: _uuid(text, name)})
        if choices is not None:
            stored = choices.get(text) or choices.get(text.lower())
            if stored is None:
                raise FilterError(f"{name}: {text!r} is not one of {', '.join(sorted(choices))}.")
            text = stored
        return Q(**{column: text})
    return compare


#: what ``auditLogs/provisioning`` filters on, as ProvisioningLog columns
LOG_PROPERTIES = {
    "activityDateTime": _moment_field("activity_time"),
    "provisioningAction": _equal("action", choices=_ACTIONS),
    "provisioningStatusInfo/status": _equal("status", choices=_STATUSES),
    "sourceIdentity/id": _equal("source_id"),
    "sourceIdentity/displayName": _equal("source_display_name"),
    "targetIdentity/id": _equal("target_id"),
    "cycleId": _equal("cycle_id", guid=True),
    "changeId": _equal("change_id", guid=True),
    "id": _equal("change_id", guid=True),
    "jobId": _equal("job__job_id"),
    "servicePrincipal/id": _equal("job__application__service_principal_id"),
}

#: what ``auditLogs/directoryAudits`` filters on, as AuditEvent columns
AUDIT_PROPERTIES = {
    "activityDateTime": _moment_field("created_at"),
    "activityDisplayName": _equal("activity"),
    "category": _equal("category"),
    "result": _equal("result", choices={"success": "success", "failure": "failure"}),
    "initiatedBy/user/userPrincipalName": _equal("actor_display"),
}


class _Parser:
    def __init__(self, text: str, properties: dict):
        self.properties = properties
        self.tokens = _tokens(text)
        self.position = 0

    def _next(self) -> _Token | None:
        token = self.tokens[self.position] if self.position < len(self.tokens) else None
        self.position += token is not None
        return token

    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def parse(self) -> Q:
        query = self._conjunction()
        left = self._peek()
        if left is not None:
            raise FilterError(f"Unexpected {left.text!r} at position {left.at} in $filter"
                              + (": only 'and' combines conditions." if left.text.lower() == "or" else "."))
        return query

    def _conjunction(self) -> Q:
        query = self._term()
        while (token := self._peek()) is not None and token.kind == "word" and token.text == "and":
            self._next()
            query &= self._term()
        return query

    def _term(self) -> Q:
        token = self._next()
        if token is None:
            raise FilterError("$filter ends where a condition was expected.")
        if token.kind == "paren" and token.text == "(":
            query = self._conjunction()
            closing = self._next()
            if closing is None or closing.text != ")":
                raise FilterError("A parenthesis in $filter is not closed.")
            return query
        if token.kind != "word" or token.text not in self.properties:
            raise FilterError(f"{token.text!r} cannot be filtered on; $filter takes {', '.join(self.properties)}.")
        operator = self._next()
        if operator is None or operator.kind != "word" or operator.text not in _COMPARISONS:
            raise FilterError(f"{token.text} must be followed by eq, ge, gt, le or lt.")
        value = self._next()
        if value is None or value.kind not in ("string", "literal"):
            raise FilterError(f"{token.text} {operator.text} needs a value.")
        return self.properties[token.text](token.text, operator.text, value)


def parse_filter(text: str, properties: dict = LOG_PROPERTIES) -> Q:
    """The rows a ``$filter`` selects, as a Q (over ProvisioningLog by default); FilterError with the reason."""
    if not text.strip():
        return Q()
    if len(text) > 2000:
        raise FilterError("$filter is too long.")
    return _Parser(text, properties).parse()
