"""What the engine reads from the source directory, as a protocol: the Entra
connector implements it; the engine's tests use an in-memory one. Objects are
dicts of the directory's properties (``id``, ``displayName``, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from .calls import CallStats


class DeltaRoundProtocol(Protocol):
    """The changes of one delta round; ``delta_link`` is set once it is exhausted."""

    delta_link: str | None

    def __iter__(self) -> Iterator[dict]: ...


class SourceConnector(Protocol):
    stats: CallStats

    def select_for(self, attribute_names: Iterable[str]) -> list[str]:
        """The properties to read for these source attribute names."""

    def iter_assignments(self, sp_id: str) -> Iterator[dict]:
        """App role assignments: ``id, principalId, principalType, principalDisplayName, appRoleId``."""

    def iter_users(self, select: Iterable[str] = ()) -> Iterator[dict]: ...

    def iter_groups(self, select: Iterable[str] = ()) -> Iterator[dict]: ...

    def latest_delta_link(self, kind: str, *, select: Iterable[str] = ()) -> str:
        """A delta link for "from now on", for ``users`` or ``groups``."""

    def users_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> DeltaRoundProtocol: ...

    def groups_delta(self, *, select: Iterable[str] = (), delta_link: str | None = None) -> DeltaRoundProtocol:
        """Changed groups, with ``members@delta``."""

    def member_ids_of_groups(self, group_ids: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """(group id, member id, "user" | "group") of the groups' direct members."""

    def get_users(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]:
        """Users by id: (found, ids that do not exist)."""

    def get_groups(self, ids: Iterable[str], select: Iterable[str] = ()) -> tuple[dict[str, dict], set[str]]: ...

    def get_user(self, user_id: str, select: Iterable[str] = ()) -> dict: ...

    def get_group(self, group_id: str, select: Iterable[str] = ()) -> dict: ...

    def soft_deleted_user_ids(self) -> set[str]: ...

    def is_soft_deleted(self, user_id: str) -> bool: ...

    def group_ids_of_user(self, user_id: str, *, transitive: bool = False) -> set[str]: ...

    def iter_group_members(self, group_id: str, *, transitive: bool = False) -> Iterator[dict]: ...
