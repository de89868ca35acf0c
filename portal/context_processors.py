from .permissions import is_administrator, is_reader, role_name


def portal(request):
    """Role flags for templates: buttons an administrator may use are shown
    enabled only to administrators (the server checks again on every POST)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_administrator": is_administrator(user),
        "is_reader": is_reader(user),
        "role_name": role_name(user),
    }
