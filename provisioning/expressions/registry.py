"""The table of functions: their signatures (for the parser's arity checks and
the portal's help text) and their implementations (for the evaluator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Param:
    """One parameter of a function as the reference lists it."""

    name: str
    # An optional parameter may be left empty (``, ,``) or, at the end, left out.
    optional: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    """Everything known about one function."""

    name: str
    params: tuple[Param, ...]
    description: str
    returns: str
    impl: Callable
    # Parameters from this index on repeat as a group (Join's sources, Switch's key/value pairs).
    repeat_from: int | None = None
    # Evaluated only when asked (IIF, Switch, Coalesce): their arguments are not computed up front.
    lazy: bool = False
    # The arguments must have been given literally (RandomString's lengths), so a bad one is caught on save.
    check: Callable | None = None

    @property
    def min_args(self) -> int:
        required = [i for i, p in enumerate(self.params) if not p.optional]
        return required[-1] + 1 if required else 0

    @property
    def max_args(self) -> int | None:
        return None if self.repeat_from is not None else len(self.params)

    def param(self, index: int) -> Param:
        """The parameter an argument at this position fills."""
        if index < len(self.params):
            return self.params[index]
        group = self.params[self.repeat_from :]
        return group[(index - self.repeat_from) % len(group)]

    def arity_problem(self, count: int) -> str | None:
        """Why ``count`` arguments do not fit, or None if they do."""
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            return f"{self.name} takes {self.arity_text()}, got {count}"
        if self.repeat_from is not None:
            group = len(self.params) - self.repeat_from
            if group > 1 and (count - self.repeat_from) % group:
                names = " and ".join(p.name for p in self.params[self.repeat_from :])
                return f"{self.name} needs its {names} arguments in complete groups, got {count} arguments"
        return None

    def arity_text(self) -> str:
        low, high = self.min_args, self.max_args
        if high is None:
            return f"at least {low} argument{'s' if low != 1 else ''}"
        if low == high:
            return f"{low} argument{'s' if low != 1 else ''}" if low else "no arguments"
        return f"{low} to {high} arguments"

    @property
    def signature(self) -> str:
        parts = [f"[{p.name}]" if p.optional else p.name for p in self.params]
        if self.repeat_from is not None:
            parts.append("…")
        return f"{self.name}({', '.join(parts)})"


REGISTRY: dict[str, FunctionSpec] = {}

# Functions of the reference that this service deliberately does not offer, with the reason shown.
UNSUPPORTED: dict[str, str] = {
    "SelectUniqueValue": "SelectUniqueValue only works when provisioning to Active Directory",
    "AppRoleAssignmentsComplex": "AppRoleAssignmentsComplex only works for SCIM applications; use SingleAppRoleAssignment",
    "AssertiveAppRoleAssignmentsComplex": "AssertiveAppRoleAssignmentsComplex only works for SCIM applications; use SingleAppRoleAssignment",
}


def function(name: str, *params: Param | str, description: str, returns: str = "string",
             repeat_from: int | None = None, lazy: bool = False, check: Callable | None = None):
    """Register the decorated implementation under ``name``."""

    def register(impl):
        spec = FunctionSpec(
            name=name,
            params=tuple(p if isinstance(p, Param) else Param(p) for p in params),
            description=description,
            returns=returns,
            impl=impl,
            repeat_from=repeat_from,
            lazy=lazy,
            check=check,
        )
        if name in REGISTRY:  # pragma: no cover - a programming mistake
            raise RuntimeError(f"{name} registered twice")
        REGISTRY[name] = spec
        return impl

    return register


def optional(name: str) -> Param:
    return Param(name, optional=True)
