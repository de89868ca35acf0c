"""What the engine knows of a target application: the :class:`TargetConnector`
protocol, the neutral types it speaks in, and the :class:`TargetSchema` that
owns the target's attributes (their validation, which of them can match, how a
value compares with what the target holds).

A target package (``provisioning/targets/<name>/``) implements the protocol with
its service's SDK and registers a :class:`TargetPackage` for a gallery entry;
the engine imports nothing else of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..connectors.calls import CallStats

if TYPE_CHECKING:  # pragma: no cover
    from ..models import ProvisioningJob


class AccountStatus:
    """The states of an account in a target, whatever the service calls them."""

    ACTIVE = "active"
    #: invited, not yet signed in
    INVITED = "invited"
    SUSPENDED = "suspended"
    REMOVED = "removed"


@dataclass(slots=True)
class Account:
    """A user account in the target, with its attribute values under the target
    schema's names (``{"email": ..., "givenName": ...}``)."""

    id: str
    status: str
    values: dict[str, str | None] = field(default_factory=dict)
    #: a short human label (an email address): log rows and messages show it
    label: str = ""
    #: the target's admin roles held by the account (names)
    roles: list[str] = field(default_factory=list)
    role_ids: list[str] = field(default_factory=list)
    #: whether the account administers the whole target (it can receive files, say)
    is_admin: bool = False


@dataclass
class TargetGroup:
    """A group in the target, with its values under the group schema's names."""

    id: str
    values: dict[str, str | None] = field(default_factory=dict)
    label: str = ""


@dataclass
class NewAccount:
    """An account to create: the mapped values, by target attribute name."""

    values: dict[str, str | None]
    send_welcome_email: bool = True


@dataclass(slots=True)
class CreateOutcome:
    """What the target did with one new account of a batch."""

    kind: str  # created | exists | retry_later | invalid | failed
    account: Account | None = None
    code: str = ""
    message: str = ""
    field: str | None = None
    recommendation: str = ""

    CREATED = "created"
    #: the target already has an account with the key attribute: look it up and link it
    EXISTS = "exists"
    #: a passing shortage (licenses): retry the object in a later cycle
    RETRY_LATER = "retry_later"
    INVALID = "invalid"
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self.kind == self.CREATED


@dataclass(frozen=True)
class RemoveOptions:
    """How an account is removed: its devices wiped, its files moved to another account."""

    wipe_data: bool = True
    transfer_to: str | None = None
    keep_account: bool = False


@dataclass(frozen=True)
class TargetNames:
    """How messages name the target and its objects ("Dropbox", "Dropbox member")."""

    service: str
    account: str
    group: str
    #: the whole target ("Dropbox team"), for messages such as "not a member of the ..."
    container: str


# ---------------------------------------------------------------------------- the schema
def _identity(value: str) -> str:
    return value


def _casefold(value: str) -> str:
    return value.lower()


@dataclass(frozen=True)
class AttributeSpec:
    """One attribute of a target object type.

    ``check`` returns why a value is refused (None when accepted). ``compared``
    attributes are diffed against the account's current value for updates; the
    others (a flag such as ``active``, a membership list) are handled by the
    engine itself."""

    name: str
    description: str = ""
    required: bool = False
    max_length: int | None = None
    matchable: bool = False
    #: matching values compare case-insensitively (an email, a group name)
    match_ignoring_case: bool = False
    #: a value that differs only in case is not a change (an email; a group's name is)
    compare_ignoring_case: bool = False
    compared: bool = True
    #: an empty mapped value clears the target's value (otherwise it is left as it is)
    empty_clears: bool = True
    single_valued: bool = True
    check: Callable[[str], str | None] | None = None

    def match_key(self, value: str) -> str:
        return _casefold(value) if self.match_ignoring_case else _identity(value)

    def same(self, current: str | None, new: str) -> bool:
        if self.compare_ignoring_case:
            return (current or "").lower() == new.lower()
        return (current or "") == new


@dataclass(frozen=True)
class ObjectSchema:
    """The attributes of one object type in the target (accounts or groups)."""

    object_type: str
    attributes: tuple[AttributeSpec, ...]
    #: the attribute whose value the target keeps unique on create (an email): an
    #: "already exists" answer is resolved by looking the account up by it
    key_attribute: str = ""
    #: the attribute that carries "active"/"suspended" (a flag, not a value of the account)
    active_attribute: str = ""
    #: the attribute that carries a group's members (computed, not mapped)
    members_attribute: str = ""
    #: the attribute shown as the object's name (a group's name)
    name_attribute: str = ""

    def spec(self, name: str) -> AttributeSpec | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, AttributeSpec]:
        return {spec.name: spec for spec in self.attributes}

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.attributes]

    @property
    def matchable(self) -> list[str]:
        return [spec.name for spec in self.attributes if spec.matchable]

    def validate(self, values: Mapping[str, object]) -> list[tuple[str, str]]:
        """(attribute, message) for every mapped value the target would refuse."""
        errors = []
        for spec in self.attributes:
            value = values.get(spec.name)
            if value in (None, "") or not spec.compared:
                continue
            if isinstance(value, list):
                if spec.single_valued:
                    errors.append((spec.name, f"{spec.name} must be a single value, not a list of {len(value)}."))
                continue
            problem = spec.check(str(value)) if spec.check else None
            if problem:
                errors.append((spec.name, problem))
        return errors

    def changes(self, values: Mapping[str, object],
                current: Mapping[str, str | None]) -> list[tuple[str, object, object]]:
        """(attribute, old, new) for the mapped values that differ from what the target holds."""
        changes = []
        for spec in self.attributes:
            new = values.get(spec.name)
            if not spec.compared or new is None or isinstance(new, list) or (new == "" and not spec.empty_clears):
                continue
            old = current.get(spec.name)
            if not spec.same(old, str(new)):
                changes.append((spec.name, old, new))
        return changes

    def key(self, name: str, value: str) -> tuple[str, str]:
        """The index key of a matching value (emails compare case-insensitively)."""
        spec = self.spec(name)
        return name, spec.match_key(value) if spec else value


@dataclass(frozen=True)
class TargetSchema:
    """Everything the engine needs to know about a target's data."""

    users: ObjectSchema
    groups: ObjectSchema
    #: most accounts one create call takes
    create_batch_size: int = 1
    #: the target deletes an invited account it is asked to suspend (so the engine removes it instead, or skips)
    suspending_invited_deletes: bool = False

    def for_type(self, object_type: str) -> ObjectSchema:
        return self.users if object_type == self.users.object_type else self.groups


# ---------------------------------------------------------------------------- the connector
@runtime_checkable
class TargetConnector(Protocol):
    """One target (a Dropbox team, say) as the engine uses it. A connector opened
    for a dry run refuses every write before anything is sent
    (:class:`~provisioning.connectors.errors.DryRunWrite`)."""

    names: TargetNames
    schema: TargetSchema
    stats: CallStats
    dry_run: bool
    #: called with the pause when the target asks the engine to slow down
    on_rate_limit: Callable[[float], None] | None
    # A connector may also have ``call_limit`` (None until the engine sets it): then every call it
    # sends holds a place in that limit (``acquire()``, ``release(ok)``) while it is in flight, not
    # while it waits for an async job or a rate limit to pass, and the engine bounds its calls
    # rather than its writes. A connector without it has each write bounded as a whole.

    def authenticated_admin(self) -> Account:
        """The admin account whose authorization the portal uses."""

    def describe(self) -> tuple[str, str]:
        """(name, id) of the target (the team)."""

    def iter_accounts(self) -> Iterator[Account]:
        """Every account, page by page."""

    def find(self, selectors: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Account | None]:
        """Look accounts up by ``("id" | <matchable attribute>, value)``; None when not found."""

    def create_batch(self, accounts: list[NewAccount]) -> list[CreateOutcome]:
        """Create accounts (at most ``schema.create_batch_size``); one outcome per account, in order."""

    def update(self, account_id: str, changes: Mapping[str, str | None]) -> None:
        """Write new attribute values of an account."""

    def disable(self, account_id: str, *, wipe_devices: bool = False) -> None:
        """Suspend an account."""

    def enable(self, account_id: str) -> None:
        """Restore a suspended account."""

    def remove(self, account_id: str, options: RemoveOptions) -> None:
        """Remove an account from the target."""

    def iter_groups(self) -> Iterator[TargetGroup]:
        """Every group the portal may manage."""

    def create_group(self, values: Mapping[str, str | None]) -> TargetGroup:
        """Create a group; :class:`~provisioning.connectors.errors.ConflictError` when its name is taken."""

    def update_group(self, group_id: str, changes: Mapping[str, str | None]) -> None:
        """Rename a group (or change its other values)."""

    def delete_group(self, group_id: str) -> None:
        """Delete a group (its members keep their accounts)."""

    def iter_group_members(self, group_id: str) -> Iterator[str]:
        """Account ids of a group's members."""

    def add_group_members(self, group_id: str, account_ids: list[str]) -> None:
        """Add accounts to a group."""

    def remove_group_members(self, group_id: str, account_ids: list[str]) -> None:
        """Remove accounts from a group."""


@dataclass(frozen=True)
class TargetPackage:
    """What a target package registers for a gallery entry: its schema and default
    mappings, and how to reach it with a job's stored authorization."""

    key: str
    names: TargetNames
    schema: TargetSchema
    #: {object type: [attribute mapping specs]} as the gallery application ships them
    default_mappings: Mapping[str, list[dict]]
    #: the synchronization template Entra names the job after (``<template>.<id>.<tenant>``)
    job_template: str
    #: builds a connector from a stored secret (a refresh token): connect(secret, dry_run=..., **overrides)
    connect_with: Callable[..., TargetConnector]
    #: the OAuth flow that obtains that secret (Authorize on the Provisioning page)
    authorization: "AuthorizationFlow | None" = None
    #: (message, recommendation) for Test Connection when the target rejects the secret:
    #: explain_rejection(credentials_error, admin_email) -> tuple | None
    explain_rejection: Callable[..., tuple[str, str] | None] | None = None

    def connect(self, job: "ProvisioningJob", *, dry_run: bool = False, **overrides) -> TargetConnector:
        """The connector for a job's stored authorization."""
        return self.connect_with(job.target_refresh_token, dry_run=dry_run, **overrides)


# ---------------------------------------------------------------------------- authorization (OAuth)
@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the administrator, and what to keep in their session for the answer."""

    url: str
    pending: dict


@dataclass(frozen=True)
class Grant:
    """A completed authorization: the long-lived secret, and the state the flow carried."""

    secret: str
    state: str
    team_id: str = ""


class AuthorizationCancelled(Exception):
    """The administrator cancelled on the target's consent page."""


class AuthorizationForged(Exception):
    """The answer does not belong to the authorization this session started."""


class AuthorizationRefused(Exception):
    """The target refused the authorization (its message says why)."""


class AuthorizationFlow(Protocol):
    """Authorize on the Provisioning page: an OAuth code flow against the target."""

    def start(self, *, session: dict, redirect_uri: str, state: str) -> AuthorizationStart:
        """Begin the flow; the administrator's browser goes to ``url``."""

    def finish(self, *, session: dict, redirect_uri: str, query: Mapping[str, str], pending: dict) -> Grant:
        """Exchange the answer for a secret. Raises the ``Authorization*`` errors above, or a
        :class:`~provisioning.connectors.errors.ConnectorError` when the exchange fails."""

    def forget(self, session: dict) -> None:
        """Drop what a started flow left in the session."""
