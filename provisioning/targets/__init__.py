"""Target applications, one package each, chosen by the gallery entry an
application was added from. Adding a target is a new package under
``provisioning/targets/`` that defines ``PACKAGE`` (a
:class:`~provisioning.targets.base.TargetPackage`) and one line here."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from ..constants import GalleryApp
from .base import TargetPackage

#: gallery entry -> the module that defines its ``PACKAGE``
REGISTRY: dict[str, str] = {
    GalleryApp.DROPBOX_BUSINESS: "provisioning.targets.dropbox",
}


@cache
def package_for(gallery_key: str) -> TargetPackage:
    """The target package of a gallery entry (KeyError for an entry with no target)."""
    return import_module(REGISTRY[gallery_key]).PACKAGE


def package_of(job) -> TargetPackage:
    """The target package of a job's application."""
    return package_for(job.application.gallery_app)


def all_packages() -> list[TargetPackage]:
    return [package_for(key) for key in REGISTRY]


def warm_up() -> None:
    """Load every target's SDK now (a worker process starting, a command about to run a cycle) rather than
    inside the first cycle, whose duration would include it."""
    for key in REGISTRY:
        warm = getattr(import_module(REGISTRY[key]), "warm_up", None)
        if warm is not None:
            warm()
