from .permissions import is_administrator, is_reader, role_name


def portal(request):
    """Role flags for templates: buttons an administrator may use are shown
    enabled only to administrators (the server checks again on every POST).

    On an application's pages ``is_administrator`` counts a role on that application
    too; ``is_reader`` (the top bar's service status) and ``is_global_administrator``
    stay portal-wide."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    app_id = match.kwargs.get("app_id") if match else None
    return {
        "is_administrator": is_administrator(user, app_id),
        "is_global_administrator": is_administrator(user),
        "is_reader": is_reader(user),
        "role_name": role_name(user),
    }
