"""The application gallery: what can be added, and how each entry looks."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .constants import GalleryApp


@dataclass(frozen=True)
class GalleryEntry:
    key: str
    name: str
    publisher: str
    description: str
    logo_text: str
    categories: tuple[str, ...]

    @property
    def app_id(self) -> str:
        """The multi-tenant application's appId in Entra ID (its service principal is made from it)."""
        return settings.GALLERY_APP_IDS[self.key]

    @property
    def template_id(self) -> str:
        """The gallery template each "Add" instantiates (a new application and service principal)."""
        return settings.GALLERY_TEMPLATE_IDS[self.key]


GALLERY = [
    GalleryEntry(
        key=GalleryApp.DROPBOX_BUSINESS,
        name="Dropbox for Business",
        publisher="Dropbox, Inc.",
        description="Create, update, suspend and remove Dropbox team members and groups from Microsoft Entra ID.",
        logo_text="D",
        categories=("Collaboration", "Content management", "Provisioning"),
    ),
]


def find(key: str) -> GalleryEntry | None:
    return next((entry for entry in GALLERY if entry.key == key), None)


def search(query: str) -> list[GalleryEntry]:
    query = query.strip().lower()
    if not query:
        return list(GALLERY)
    return [e for e in GALLERY if query in e.name.lower() or query in e.publisher.lower() or any(query in c.lower() for c in e.categories)]
