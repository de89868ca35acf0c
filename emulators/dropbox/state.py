"""The emulated team and the rules the real service enforces on it.

Everything here is plain Python and picklable, so ``--state-file`` can save
it, and indexed (by team member id, by case-insensitive email, by external id)
so that a team of 200,000 members answers as fast as one of ten. Rule
violations raise :class:`Refused` carrying the error tag of the route's Stone
error union; the HTTP layer turns that into a 409.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import heapq
import random
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from emulators import demo

#: How long a removed member can be recovered (Dropbox documents seven days).
RECOVERY_WINDOW_SECONDS = 7 * 24 * 3600

#: ``members/add_v2`` calls with more new members than this run as a job, as
#: large batches do on the real service.
ASYNC_ADD_THRESHOLD = 5

#: ``groups/delete`` of a group with more members than this runs as a job.
ASYNC_GROUP_DELETE_THRESHOLD = 100

STATUSES = ("active", "invited", "suspended", "removed")
GROUP_MANAGEMENT_TYPES = ("user_managed", "company_managed", "system_managed")

#: Failures an email can be set up to meet in ``members/add_v2`` because of an
#: account outside this team (``POST /_emulator/accounts``).
OUTSIDE_ACCOUNT_FAILURES = (
    "user_on_another_team",
    "user_already_paired",
    "user_migration_failed",
    "user_creation_failed",
    "free_team_member_limit_reached",
)


def _role_id(key: str) -> str:
    # Dropbox-defined roles carry the same id on every team.
    digest = base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).decode().rstrip("=")
    return "pid_dbtmr:" + digest[:40]


@dataclass(frozen=True, slots=True)
class Role:
    role_id: str
    name: str
    description: str


TEAM_ADMIN = Role(_role_id("team_admin"), "Team admin", "User is an administrator of the team - has all permissions.")
ROLES = (
    TEAM_ADMIN,
    Role(_role_id("user_management_admin"), "User management admin",
         "User can do most user provisioning, de-provisioning and management."),
    Role(_role_id("support_admin"), "Support admin",
         "User can do a limited set of common support tasks for existing users."),
    Role(_role_id("billing_admin"), "Billing admin", "User can manage payments and renewals."),
    Role(_role_id("compliance_admin"), "Compliance admin", "User can manage data governance and legal holds."),
    Role(_role_id("content_admin"), "Content admin", "User can manage team folders and team content."),
    Role(_role_id("reports_admin"), "Reports admin", "User can view the activity log and insights."),
    Role(_role_id("security_admin"), "Security admin", "User can manage security policies and devices."),
)
ROLES_BY_ID = {role.role_id: role for role in ROLES}


class Refused(Exception):
    """A route's own error: the tag of its Stone error union, and a value for
    tags that carry one (a list of emails, say)."""

    def __init__(self, tag: str, value=None):
        super().__init__(tag)
        self.tag = tag
        self.value = value


@dataclass(slots=True)
class Member:
    """One team member, in any status (``removed`` ones stay listed with ``include_removed``)."""

    team_member_id: str
    account_id: str
    uid: str
    seq: int
    email: str
    given_name: str
    surname: str
    status: str
    member_folder_id: str
    external_id: str | None = None
    persistent_id: str | None = None
    is_directory_restricted: bool | None = None
    email_verified: bool = False
    membership_type: str = "full"
    invited_at: float | None = None
    joined_at: float | None = None
    suspended_at: float | None = None
    removed_at: float | None = None
    accept_at: float | None = None
    recoverable: bool = False
    disconnected: bool = False
    role_ids: list[str] = field(default_factory=list)
    #: group ids, in the order the member joined them
    groups: list[str] = field(default_factory=list)
    groups_before_removal: list[str] = field(default_factory=list)
    #: paths of the files in the member's Dropbox (what a removal deletes, keeps or moves)
    files: list[str] = field(default_factory=list)

    @property
    def is_team_admin(self) -> bool:
        return TEAM_ADMIN.role_id in self.role_ids


@dataclass(slots=True)
class Group:
    """A group; ``members`` maps team member id to access type (``member``/``owner``)."""

    group_id: str
    name: str
    management_type: str
    created_ms: int
    seq: int
    external_id: str | None = None
    members: dict[str, str] = field(default_factory=dict)
    #: the system group "Everyone at <team>", whose members are every member not removed
    everyone: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str
    member_id: str
    scope: tuple[str, ...] | None
    expires_at: float | None
    refresh_token: str | None = None
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    token: str
    member_id: str
    client_id: str
    scope: tuple[str, ...] | None
    #: issued to a PKCE client without its secret: may refresh without one
    public: bool = False
    revoked: bool = False


@dataclass(slots=True)
class Job:
    """A background job: ``members_add`` (applied when it completes),
    ``members_remove`` and ``groups`` (applied at once, reported later). It
    completes ``--async-job-seconds`` after it started, as that setting stands
    when asked, so a test can hold a job in progress and then let it finish."""

    job_id: str
    kind: str
    started_at: float
    payload: object = None
    result: object = None
    done: bool = False


_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_ID_TABLE = bytes(ord(_ID_ALPHABET[n % 64]) for n in range(256))


class Team:
    """A Dropbox team and everything the emulator remembers about it."""

    def __init__(self, name: str, *, random_seed: int = 1, licenses: int = 1000):
        self.rng = random.Random(random_seed)
        self.name = name
        self.team_id = "dbtid:" + self._random_id(34)
        self.root_namespace_id = str(self.rng.randrange(10**9, 10**10))
        self.licenses = licenses
        self.persistent_ids_enabled = False
        self.directory_restrictions_enabled = False

        self.members: dict[str, Member] = {}
        self.by_email: dict[str, str] = {}
        self.by_external_id: dict[str, str] = {}
        self.by_persistent_id: dict[str, str] = {}
        #: team member ids and their sequence numbers in creation order (for cursors)
        self.order_ids: list[str] = []
        self.order_seqs: list[int] = []
        self.next_seq = 1
        self.counts = {status: 0 for status in STATUSES}
        #: members holding the Team admin role, whatever their status
        self.admin_ids: set[str] = set()

        self.groups: dict[str, Group] = {}
        self.group_by_name: dict[str, str] = {}
        self.group_by_external_id: dict[str, str] = {}
        self.deleted_group_ids: set[str] = set()
        self.everyone_group_id: str | None = None

        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        #: the admin who generated the long-lived --admin-token, and whether it was revoked
        self.admin_token_member_id: str | None = None
        self.admin_token_revoked = False

        self.jobs: dict[str, Job] = {}
        self._pending_jobs: list[str] = []
        self._accept_heap: list[tuple[float, str]] = []

        #: emails whose account lives outside this team -> the add_v2 failure they meet
        self.outside_accounts: dict[str, str] = {}
        #: every change made through the API, in order: (route, member or group id)
        self.journal: list[tuple[str, str]] = []
        #: the addresses Dropbox sent its welcome (invitation) email to, in order
        self.welcome_emails: list[str] = []

    def note(self, route: str, object_id: str) -> None:
        """Remember a change made through the API (tests count the writes that reached the team)."""
        if not hasattr(self, "journal"):  # a state saved before the journal existed
            self.journal = []
        self.journal.append((route, object_id))

    # ------------------------------------------------------------------ ids
    def _random_id(self, length: int) -> str:
        # one random byte per character, its low six bits picking one of the 64 (a team of 100,000 members
        # asks for 200,000 of these: drawn character by character, they were a sixth of the emulator's time)
        return self.rng.randbytes(length).translate(_ID_TABLE).decode("ascii")

    def new_job_id(self) -> str:
        return "dbjid:" + self._random_id(40)

    # ------------------------------------------------------------------ lookups
    def find_member(self, tag: str, value: str) -> Member | None:
        """Resolve a UserSelectorArg (``team_member_id``, ``email`` or ``external_id``)."""
        if tag == "team_member_id":
            return self.members.get(value)
        if tag == "email":
            tmid = self.by_email.get(value.lower())
        elif tag == "external_id":
            tmid = self.by_external_id.get(value)
        else:
            return None
        return self.members.get(tmid) if tmid else None

    def member_by_email(self, email: str) -> Member | None:
        tmid = self.by_email.get(email.lower())
        return self.members.get(tmid) if tmid else None

    def active_admin_count(self) -> int:
        return sum(1 for tmid in self.admin_ids if self.members[tmid].status == "active")

    def is_last_admin(self, member: Member) -> bool:
        return member.is_team_admin and member.status == "active" and self.active_admin_count() <= 1

    @property
    def used_licenses(self) -> int:
        # Invited and suspended members hold a license as well as active ones.
        return self.counts["active"] + self.counts["invited"] + self.counts["suspended"]

    @property
    def provisioned(self) -> int:
        return self.counts["active"] + self.counts["invited"]

    def is_recoverable(self, member: Member, now: float) -> bool:
        return (
            member.status == "removed"
            and member.recoverable
            and member.removed_at is not None
            and now - member.removed_at <= RECOVERY_WINDOW_SECONDS
        )

    # ------------------------------------------------------------------ members
    def _set_status(self, member: Member, status: str) -> None:
        self.counts[member.status] -= 1
        member.status = status
        self.counts[status] += 1

    def create_member(
        self,
        email: str,
        given_name: str = "",
        surname: str = "",
        *,
        status: str = "invited",
        now: float,
        external_id: str | None = None,
        persistent_id: str | None = None,
        role_ids: Iterable[str] = (),
        is_directory_restricted: bool | None = None,
        auto_accept_seconds: float | None = None,
    ) -> Member:
        """Add a member with no checks (seeding, and add_v2 once its checks passed)."""
        seq = self.next_seq
        self.next_seq += 1
        member = Member(
            team_member_id="dbmid:" + self._random_id(35),
            account_id="dbid:" + self._random_id(35),
            uid=str(1_000_000_000 + seq),
            seq=seq,
            email=email,
            given_name=given_name or "",
            surname=surname or "",
            status=status,
            member_folder_id=str(self.rng.randrange(10**9, 10**10)),
            external_id=external_id,
            persistent_id=persistent_id,
            is_directory_restricted=is_directory_restricted,
            email_verified=status != "invited",
            invited_at=now,
            joined_at=None if status == "invited" else now,
            suspended_at=now if status == "suspended" else None,
            role_ids=list(role_ids),
        )
        self.members[member.team_member_id] = member
        self.order_ids.append(member.team_member_id)
        self.order_seqs.append(seq)
        self.counts[status] += 1
        self._index(member)
        if member.is_team_admin:
            self.admin_ids.add(member.team_member_id)
        if status == "invited" and auto_accept_seconds is not None:
            self.schedule_accept(member, member.invited_at + auto_accept_seconds)
        return member

    def _index(self, member: Member) -> None:
        previous = self.by_email.get(member.email.lower())
        if previous and previous != member.team_member_id:
            # A removed member whose address is taken again can no longer be recovered.
            self.members[previous].recoverable = False
        self.by_email[member.email.lower()] = member.team_member_id
        if member.external_id:
            previous = self.by_external_id.get(member.external_id)
            if previous and previous != member.team_member_id:
                self.members[previous].recoverable = False
            self.by_external_id[member.external_id] = member.team_member_id
        if member.persistent_id:
            self.by_persistent_id[member.persistent_id] = member.team_member_id

    def _email_taken(self, email: str, by_other_than: Member | None = None) -> bool:
        other = self.member_by_email(email)
        return other is not None and other is not by_other_than and other.status != "removed"

    def _external_id_taken(self, external_id: str, by_other_than: Member | None = None) -> bool:
        tmid = self.by_external_id.get(external_id)
        other = self.members.get(tmid) if tmid else None
        return other is not None and other is not by_other_than and other.status != "removed"

    def _persistent_id_taken(self, persistent_id: str, by_other_than: Member | None = None) -> bool:
        tmid = self.by_persistent_id.get(persistent_id)
        other = self.members.get(tmid) if tmid else None
        return other is not None and other is not by_other_than and other.status != "removed"

    def add_members(self, new_members: list[dict], *, now: float, auto_accept_seconds: float | None):
        """``members/add_v2``: one outcome per new member, in order: ``("success",
        team_member_id, email)`` or ``(failure_tag, email)``. Failures are checked
        against the team and against earlier entries of the same call."""
        results = []
        for entry in new_members:
            email = entry["email"]
            key = email.lower()
            external_id = entry.get("external_id")
            persistent_id = entry.get("persistent_id")
            if self._email_taken(email):
                results.append(("user_already_on_team", email))
            elif key in self.outside_accounts:
                results.append((self.outside_accounts[key], email))
            elif external_id and self._external_id_taken(external_id):
                results.append(("duplicate_external_member_id", email))
            elif persistent_id and not self.persistent_ids_enabled:
                results.append(("persistent_id_disabled", email))
            elif persistent_id and self._persistent_id_taken(persistent_id):
                results.append(("duplicate_member_persistent_id", email))
            elif any(role_id not in ROLES_BY_ID for role_id in entry.get("role_ids") or ()):
                results.append(("user_creation_failed", email))
            elif self.used_licenses >= self.licenses:
                results.append(("team_license_limit", email))
            else:
                member = self.create_member(
                    email,
                    entry.get("given_name") or "",
                    entry.get("surname") or "",
                    now=now,
                    external_id=external_id or None,
                    persistent_id=persistent_id,
                    role_ids=entry.get("role_ids") or (),
                    is_directory_restricted=entry.get("is_directory_restricted"),
                    auto_accept_seconds=auto_accept_seconds,
                )
                results.append(("success", member.team_member_id, email))
                self.note("members/add", member.team_member_id)
                if entry.get("send_welcome_email", True):
                    self.sent_welcome(email)
        return results

    def schedule_accept(self, member: Member, when: float) -> None:
        member.accept_at = when
        heapq.heappush(self._accept_heap, (when, member.team_member_id))

    def reschedule_accepts(self, auto_accept_seconds: float | None) -> None:
        """Apply a new --auto-accept-seconds to the invitations already pending."""
        self._accept_heap = []
        for tmid in self.order_ids:
            member = self.members.get(tmid)
            if member is None or member.status != "invited":
                continue
            if auto_accept_seconds is None:
                member.accept_at = None
            else:
                self._accept_heap.append((member.invited_at + auto_accept_seconds, tmid))
                member.accept_at = member.invited_at + auto_accept_seconds
        heapq.heapify(self._accept_heap)

    def accept_invitation(self, member: Member, when: float) -> None:
        self._set_status(member, "active")
        member.joined_at = when
        member.email_verified = True
        member.accept_at = None

    def set_profile(self, member: Member, selector_tag: str, changes: dict) -> None:
        """``members/set_profile_v2``; ``changes`` holds only the fields that were given."""
        if member.status == "removed":
            raise Refused("set_profile_disallowed")
        if not changes:
            raise Refused("no_new_data_specified")
        if selector_tag == "external_id" and "external_id" in changes:
            raise Refused("external_id_and_new_external_id_unsafe")
        for key in ("given_name", "surname"):
            if key in changes and not changes[key].strip():
                raise Refused("param_cannot_be_empty")
        if "email" in changes:
            email = changes["email"]
            if self._email_taken(email, member) or email.lower() in self.outside_accounts:
                raise Refused("email_reserved_for_other_user")
        if changes.get("external_id") and self._external_id_taken(changes["external_id"], member):
            raise Refused("external_id_used_by_other_user")
        if "persistent_id" in changes:
            if not self.persistent_ids_enabled:
                raise Refused("persistent_id_disabled")
            if self._persistent_id_taken(changes["persistent_id"], member):
                raise Refused("persistent_id_used_by_other_user")
        if "is_directory_restricted" in changes and not self.directory_restrictions_enabled:
            raise Refused("directory_restricted_off")

        if "email" in changes:
            old_key = member.email.lower()
            if changes["email"].lower() != old_key and self.by_email.get(old_key) == member.team_member_id:
                del self.by_email[old_key]
            member.email = changes["email"]
        if "external_id" in changes:
            if member.external_id and self.by_external_id.get(member.external_id) == member.team_member_id:
                del self.by_external_id[member.external_id]
            member.external_id = changes["external_id"] or None
        if "persistent_id" in changes:
            if member.persistent_id and self.by_persistent_id.get(member.persistent_id) == member.team_member_id:
                del self.by_persistent_id[member.persistent_id]
            member.persistent_id = changes["persistent_id"] or None
        if "given_name" in changes:
            member.given_name = changes["given_name"]
        if "surname" in changes:
            member.surname = changes["surname"]
        if "is_directory_restricted" in changes:
            member.is_directory_restricted = changes["is_directory_restricted"]
        self._index(member)
        self.note("members/set_profile", member.team_member_id)

    def suspend(self, member: Member, *, now: float) -> str:
        """``members/suspend``. Returns ``"suspended"``, or ``"deleted"`` for an
        invited member: Dropbox cannot suspend an invitation, so it deletes it."""
        if member.status == "removed":
            raise Refused("user_not_in_team")
        if member.status == "suspended":
            raise Refused("suspend_inactive_user")
        if member.status == "invited":
            self.note("members/suspend", member.team_member_id)
            self.delete_member(member)
            return "deleted"
        if self.is_last_admin(member):
            raise Refused("suspend_last_admin")
        self._set_status(member, "suspended")
        member.suspended_at = now
        self.note("members/suspend", member.team_member_id)
        return "suspended"

    def unsuspend(self, member: Member) -> None:
        if member.status == "removed":
            raise Refused("user_not_in_team")
        if member.status != "suspended":
            raise Refused("unsuspend_non_suspended_member")
        self._set_status(member, "active")
        member.suspended_at = None
        self.note("members/unsuspend", member.team_member_id)

    def delete_member(self, member: Member) -> None:
        """Forget a member entirely (a deleted invitation); it is not listed even as removed."""
        for group_id in list(member.groups):
            self.groups[group_id].members.pop(member.team_member_id, None)
        self.counts[member.status] -= 1
        del self.members[member.team_member_id]
        self.admin_ids.discard(member.team_member_id)
        for index, key in (
            (self.by_email, member.email.lower()),
            (self.by_external_id, member.external_id),
            (self.by_persistent_id, member.persistent_id),
        ):
            if key and index.get(key) == member.team_member_id:
                del index[key]
        # order_ids keeps the id: pages skip members that no longer exist.

    def check_remove(self, member: Member, args: dict) -> tuple[Member | None, Member | None]:
        """Every refusal ``members/remove`` can answer, in the order the service checks them.
        Returns the transfer destination and transfer admin, if any."""
        if member.status == "removed":
            raise Refused("user_not_in_team")
        keep, wipe = args["keep_account"], args["wipe_data"]
        transfer_dest_sel, transfer_admin_sel = args.get("transfer_dest_id"), args.get("transfer_admin_id")
        if keep and wipe:
            raise Refused("cannot_keep_account_and_delete_data")
        if keep and transfer_dest_sel:
            raise Refused("cannot_keep_account_and_transfer")
        if keep and args["permanently_delete_files"]:
            raise Refused("cannot_keep_account_and_permanently_delete")
        if args["permanently_delete_files"] and transfer_dest_sel:
            raise Refused("cannot_permanently_delete_and_transfer")
        if args["retain_team_shares"] and not keep:
            raise Refused("cannot_retain_shares_when_no_account_kept")
        if args["retain_team_shares"] and wipe:
            raise Refused("cannot_retain_shares_when_data_wiped")
        if keep and member.status == "invited":
            raise Refused("cannot_keep_invited_user_account")
        if self.is_last_admin(member):
            raise Refused("remove_last_admin")
        dest = admin = None
        if transfer_dest_sel:
            dest = self.find_member(*transfer_dest_sel)
            if dest is None:
                raise Refused("transfer_dest_user_not_found")
            if dest.status == "removed":
                raise Refused("transfer_dest_user_not_in_team")
            if dest is member:
                raise Refused("removed_and_transfer_dest_should_differ")
            if not transfer_admin_sel:
                raise Refused("unspecified_transfer_admin_id")
            admin = self.find_member(*transfer_admin_sel)
            if admin is None:
                raise Refused("transfer_admin_user_not_found")
            if admin.status == "removed":
                raise Refused("transfer_admin_user_not_in_team")
            if admin is member:
                raise Refused("removed_and_transfer_admin_should_differ")
            if not (admin.is_team_admin and admin.status == "active"):
                raise Refused("transfer_admin_is_not_admin")
            if not dest.email_verified:
                raise Refused("recipient_not_verified")
        return dest, admin

    def sent_welcome(self, email: str) -> None:
        if not hasattr(self, "welcome_emails"):  # a state saved before welcome emails were recorded
            self.welcome_emails = []
        self.welcome_emails.append(email)

    def remove(self, member: Member, *, keep_account: bool, now: float, transfer_to: Member | None = None) -> None:
        """Remove a member. With ``transfer_to``, its files move into a folder named after it in that
        member's Dropbox; a kept account keeps them; otherwise they go with the removed account (and
        come back if it is recovered)."""
        if transfer_to is not None:
            folder = f"{member.given_name} {member.surname}".strip() or member.email
            transfer_to.files = [*getattr(transfer_to, "files", []),
                                 *(f"/{folder}/{path.lstrip('/')}" for path in getattr(member, "files", []))]
            member.files = []
        was_invited = member.status == "invited"
        for group_id in list(member.groups):
            self.groups[group_id].members.pop(member.team_member_id, None)
        member.groups_before_removal = member.groups
        member.groups = []
        self._set_status(member, "removed")
        member.removed_at = now
        member.accept_at = None
        member.disconnected = keep_account
        # An invitation never became an account, and a kept account left the team for good.
        member.recoverable = not keep_account and not was_invited
        self.note("members/remove", member.team_member_id)

    def recover(self, member: Member, *, now: float) -> None:
        if not self.is_recoverable(member, now) or self._email_taken(member.email, member):
            raise Refused("user_unrecoverable")
        if self.used_licenses >= self.licenses:
            raise Refused("team_license_limit")
        self._set_status(member, "active")
        member.removed_at = None
        member.recoverable = False
        for group_id in member.groups_before_removal:
            group = self.groups.get(group_id)
            if group is not None and member.team_member_id not in group.members:
                group.members[member.team_member_id] = "member"
                member.groups.append(group_id)
        member.groups_before_removal = []
        self._index(member)

    def set_roles(self, member: Member, role_ids: list[str]) -> None:
        if member.status == "removed":
            raise Refused("user_not_in_team")
        if member.status == "suspended":
            raise Refused("cannot_set_permissions")
        if any(role_id not in ROLES_BY_ID for role_id in role_ids):
            raise Refused("role_not_found")
        if self.is_last_admin(member) and TEAM_ADMIN.role_id not in role_ids:
            raise Refused("last_admin")
        self.force_roles(member, role_ids)

    def force_roles(self, member: Member, role_ids: list[str]) -> None:
        member.role_ids = list(role_ids)
        if member.is_team_admin:
            self.admin_ids.add(member.team_member_id)
        else:
            self.admin_ids.discard(member.team_member_id)

    def page_members(self, after_seq: int, limit: int, include_removed: bool):
        """Up to ``limit`` members created after ``after_seq``; and whether more follow."""
        start = bisect.bisect_right(self.order_seqs, after_seq)
        page: list[Member] = []
        members = self.members
        index = start
        total = len(self.order_ids)
        while index < total:
            member = members.get(self.order_ids[index])
            index += 1
            if member is None or (member.status == "removed" and not include_removed):
                continue
            if len(page) == limit:
                return page, True
            page.append(member)
        return page, False

    # ------------------------------------------------------------------ groups
    def live_group(self, tag: str, value: str) -> Group:
        """Resolve a GroupSelector, refusing with ``group_not_found``."""
        if tag == "group_id":
            group = self.groups.get(value)
        else:
            group_id = self.group_by_external_id.get(value)
            group = self.groups.get(group_id) if group_id else None
        if group is None:
            raise Refused("group_not_found")
        return group

    def group_member_count(self, group: Group) -> int:
        if group.everyone:
            return self.counts["active"] + self.counts["invited"] + self.counts["suspended"]
        return len(group.members)

    def group_members(self, group: Group) -> list[tuple[Member, str]]:
        """The group's members in the order they joined the team, with their access type."""
        if group.everyone:
            return [(m, "member") for m in (self.members.get(t) for t in self.order_ids)
                    if m is not None and m.status != "removed"]
        members = [(self.members[tmid], access) for tmid, access in group.members.items()]
        members.sort(key=lambda pair: pair[0].seq)
        return members

    def member_group_ids(self, member: Member) -> list[str]:
        if self.everyone_group_id and member.status != "removed":
            return [self.everyone_group_id, *member.groups]
        return member.groups

    @staticmethod
    def _valid_group_name(name: str) -> bool:
        return bool(name.strip()) and len(name) <= 255 and not any(ord(c) < 32 for c in name)

    def create_group(
        self,
        name: str,
        *,
        now: float,
        external_id: str | None = None,
        management_type: str | None = None,
        owner: Member | None = None,
        everyone: bool = False,
    ) -> Group:
        if management_type == "system_managed" and not everyone:
            raise Refused("system_managed_group_disallowed")
        if not self._valid_group_name(name):
            raise Refused("group_name_invalid")
        if name.lower() in self.group_by_name:
            raise Refused("group_name_already_used")
        if external_id and external_id in self.group_by_external_id:
            raise Refused("external_id_already_in_use")
        seq = self.next_seq
        self.next_seq += 1
        group = Group(
            group_id=f"g:{self.rng.getrandbits(128):032x}",
            name=name,
            # Groups an admin creates through the API are company-managed unless asked otherwise.
            management_type=management_type or "company_managed",
            created_ms=int(now * 1000),
            seq=seq,
            external_id=external_id or None,
            everyone=everyone,
        )
        self.groups[group.group_id] = group
        self.group_by_name[name.lower()] = group.group_id
        if group.external_id:
            self.group_by_external_id[group.external_id] = group.group_id
        if everyone:
            self.everyone_group_id = group.group_id
        if owner is not None:
            self._join(group, owner, "owner")
        self.note("groups/create", group.group_id)
        return group

    def _join(self, group: Group, member: Member, access_type: str) -> None:
        group.members[member.team_member_id] = access_type
        member.groups.append(group.group_id)

    def update_group(self, group: Group, changes: dict) -> None:
        if group.management_type == "system_managed" or changes.get("management_type") == "system_managed":
            raise Refused("system_managed_group_disallowed")
        name = changes.get("name")
        if name is not None:
            if not self._valid_group_name(name):
                raise Refused("group_name_invalid")
            holder = self.group_by_name.get(name.lower())
            if holder is not None and holder != group.group_id:
                raise Refused("group_name_already_used")
        external_id = changes.get("external_id")
        if external_id:
            holder = self.group_by_external_id.get(external_id)
            if holder is not None and holder != group.group_id:
                raise Refused("external_id_already_in_use")
        if name is not None:
            del self.group_by_name[group.name.lower()]
            group.name = name
            self.group_by_name[name.lower()] = group.group_id
        if external_id is not None:
            if group.external_id:
                self.group_by_external_id.pop(group.external_id, None)
            group.external_id = external_id or None
            if group.external_id:
                self.group_by_external_id[group.external_id] = group.group_id
        management_type = changes.get("management_type")
        if management_type is not None:
            group.management_type = management_type
            if management_type == "company_managed":
                # Only admins manage a company-managed group: its managers become plain members.
                for tmid in group.members:
                    group.members[tmid] = "member"
        self.note("groups/update", group.group_id)

    def delete_group(self, tag: str, value: str) -> Group:
        if tag == "group_id" and value in self.deleted_group_ids:
            raise Refused("group_already_deleted")
        group = self.live_group(tag, value)
        if group.management_type == "system_managed":
            raise Refused("system_managed_group_disallowed")
        for tmid in group.members:
            self.members[tmid].groups.remove(group.group_id)
        del self.groups[group.group_id]
        del self.group_by_name[group.name.lower()]
        if group.external_id:
            self.group_by_external_id.pop(group.external_id, None)
        self.deleted_group_ids.add(group.group_id)
        self.note("groups/delete", group.group_id)
        return group

    def _resolve_for_group(self, selectors: list[tuple[str, str]]) -> list[Member]:
        not_found = [value for tag, value in selectors if self.find_member(tag, value) is None]
        if not_found:
            raise Refused("users_not_found", not_found)
        members = [self.find_member(tag, value) for tag, value in selectors]
        not_in_team = [value for (tag, value), m in zip(selectors, members) if m.status == "removed"]
        if not_in_team:
            raise Refused("members_not_in_team", not_in_team)
        return members

    def add_group_members(self, group: Group, entries: list[tuple[tuple[str, str], str]]) -> None:
        if group.management_type == "system_managed":
            raise Refused("system_managed_group_disallowed")
        members = self._resolve_for_group([selector for selector, _ in entries])
        seen: set[str] = set()
        for member in members:
            if member.team_member_id in group.members or member.team_member_id in seen:
                raise Refused("duplicate_user")
            seen.add(member.team_member_id)
        owners = [(selector, m) for (selector, access), m in zip(entries, members) if access == "owner"]
        if owners and group.management_type == "company_managed":
            raise Refused("user_cannot_be_manager_of_company_managed_group", [s[1] for s, _ in owners])
        if any(m.status != "active" for _, m in owners):
            raise Refused("user_must_be_active_to_be_owner")
        for (_, access), member in zip(entries, members):
            self._join(group, member, access)
            self.note("groups/members/add", f"{group.group_id} {member.team_member_id}")

    def remove_group_members(self, group: Group, selectors: list[tuple[str, str]]) -> None:
        if group.management_type == "system_managed":
            raise Refused("system_managed_group_disallowed")
        members = self._resolve_for_group(selectors)
        if any(m.team_member_id not in group.members for m in members):
            raise Refused("member_not_in_group")
        for member in members:
            if group.members.pop(member.team_member_id, None) is not None:
                member.groups.remove(group.group_id)
                self.note("groups/members/remove", f"{group.group_id} {member.team_member_id}")

    def groups_in_order(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda g: g.seq)

    # ------------------------------------------------------------------ jobs and time
    def start_job(self, kind: str, now: float, payload=None) -> Job:
        job = Job(self.new_job_id(), kind, now, payload)
        self.jobs[job.job_id] = job
        self._pending_jobs.append(job.job_id)
        return job

    def settle(self, now: float, *, auto_accept_seconds: float | None, job_seconds: float) -> bool:
        """Finish the jobs and accept the invitations that are due. Everything the
        service does in the background happens here, before each request is answered."""
        changed = False
        if self._pending_jobs:
            still_pending = []
            for job_id in self._pending_jobs:
                job = self.jobs[job_id]
                if job.started_at + job_seconds > now:
                    still_pending.append(job_id)
                    continue
                if job.kind == "members_add":
                    job.result = self.add_members(job.payload, now=now, auto_accept_seconds=auto_accept_seconds)
                    job.payload = None
                job.done = True
                changed = True
            self._pending_jobs = still_pending
        while self._accept_heap and self._accept_heap[0][0] <= now:
            when, tmid = heapq.heappop(self._accept_heap)
            member = self.members.get(tmid)
            if member is not None and member.status == "invited" and member.accept_at == when:
                self.accept_invitation(member, when)
                changed = True
        return changed


def wire_time(epoch: float | None) -> str | None:
    """A timestamp as the API writes it (whole seconds, UTC)."""
    if epoch is None:
        return None
    return _format_second(int(epoch))


@functools.lru_cache(maxsize=4096)
def _format_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


# ---------------------------------------------------------------------- seeds
SEED_HELP = "empty, demo, or bulk:N (the demo team and N generated members)"


def build_team(
    seed: str,
    *,
    team_name: str,
    admin_email: str,
    member_email: str,
    licenses: int,
    random_seed: int,
    now: float | None = None,
) -> Team:
    """The team a seed names.

    ``empty``: the admin and the non-admin member. ``demo``: those, the people
    the demo tenant shares with the team (``lynne.robbins`` suspended), the
    Dropbox-only people, and three groups (the system group "Everyone at
    <team>", a company-managed and a user-managed one). ``bulk:N``: the demo
    team and N generated members, for benchmarks and large-team checks.
    """
    extra = 0
    if seed.startswith("bulk:"):
        try:
            extra = int(seed.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"unknown seed {seed!r}: expected {SEED_HELP}") from None
        if extra < 0:
            raise ValueError(f"unknown seed {seed!r}: expected {SEED_HELP}")
    elif seed not in ("empty", "demo"):
        raise ValueError(f"unknown seed {seed!r}: expected {SEED_HELP}")
    now = time.time() if now is None else now
    # Established members joined some time ago; the seed is fixed relative to now.
    joined = now - 90 * 24 * 3600
    # A generated team gets the licenses it needs, with room to add more.
    team = Team(team_name, random_seed=random_seed, licenses=max(licenses, extra + 1000) if extra else licenses)
    admin = team.create_member(
        admin_email, demo.DEMO_ADMIN["given_name"], demo.DEMO_ADMIN["surname"],
        status="active", now=joined, role_ids=[TEAM_ADMIN.role_id],
    )
    team.admin_token_member_id = admin.team_member_id
    team.create_member(
        member_email, demo.DEMO_NON_ADMIN["given_name"], demo.DEMO_NON_ADMIN["surname"],
        status="active", now=joined,
    )
    if seed == "empty":
        team.journal = []  # the seed is the starting point, not a change made through the API
        return team

    people = {}
    for person in demo.DEMO_SHARED + demo.DEMO_DROPBOX_ONLY:
        people[person["email"]] = team.create_member(
            person["email"], person["given_name"], person["surname"],
            status=person.get("dropbox_status", "active"), now=joined,
        )
    team.create_group(f"Everyone at {team_name}", now=joined, management_type="system_managed", everyone=True)
    marketing = team.create_group("Marketing", now=joined, management_type="company_managed")
    for email in ("alex.wilber@contoso.com", "megan.bowen@contoso.com"):
        team._join(marketing, people[email], "member")
    falcon = team.create_group("Project Falcon", now=joined, management_type="user_managed")
    team._join(falcon, people["adele.vance@contoso.com"], "owner")
    team._join(falcon, people["contractor.lee@contoso.com"], "member")
    team._join(falcon, admin, "member")

    statuses = ("active",) * 17 + ("invited", "suspended")
    for index in range(extra):
        status = statuses[index % len(statuses)]
        team.create_member(
            f"user{index:06d}@{demo.DEMO_DOMAIN}", f"User{index:06d}", "Generated",
            status=status, now=joined, external_id=f"ext-{index:06d}" if index % 2 == 0 else None,
        )
    team.journal = []  # the seed is the starting point, not a change made through the API
    return team
