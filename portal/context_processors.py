from .permissions import is_administrator, is_reader, role_name


def portal(request):
    """Role flags for templates: buttons an administrator may use are shown
    enabled only to administrators (the server checks again on every POST).

    On an application's pages ``is_administrator`` counts a role on that application
    too; ``is_reader`` (the top bar's service status) and ``is_global_administrator``
    stay portal-wide."""
    from django.conf import settings

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"entra_sign_in": settings.ENTRA_SIGN_IN, "local_sign_in": settings.LOCAL_SIGN_IN}
    match = getattr(request, "resolver_match", None)
    app_id = match.kwargs.get("app_id") if match else None
    return {
        "is_administrator": is_administrator(user, app_id),
        "is_global_administrator": is_administrator(user),
        "is_reader": is_reader(user),
        "role_name": role_name(user),
        **_no_role(user),
    }


def _no_role(user) -> dict:
    """For the page a signed-in person without any role sees: whom to ask."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from provisioning.constants import ADMINISTRATORS_GROUP

    from .permissions import has_any_role

    if has_any_role(user):
        return {}
    administrators = [] if settings.ACCESS_CONTACT else list(
        get_user_model().objects.filter(is_active=True, groups__name=ADMINISTRATORS_GROUP)
        .order_by("email").values_list("email", flat=True)[:5])
    return {"has_no_role": True, "access_contact": settings.ACCESS_CONTACT, "administrators": administrators}
