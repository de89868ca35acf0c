"""Template helpers of the mapping editor and the expression builder."""

from django import template

register = template.Library()


@register.inclusion_tag("portal/mappings/_expression_marker.html")
def expression_marker(text: str, error) -> dict:
    """The expression with the character an error points at highlighted, and a caret under it.

    At the end of the text (a missing ")") or at a line break, the marker is
    a highlighted space, so there is always something to point at.
    """
    text = text or ""
    position = max(0, min(int(getattr(error, "position", 0) or 0), len(text)))
    at = text[position:position + 1]
    after = text[position + 1:]
    if at in ("", "\n", "\r"):
        at, after = " ", text[position:]
    return {"before": text[:position], "at": at, "after": after, "position": position, "error": error}
