from django import template

from provisioning.health import service_states

register = template.Library()


@register.inclusion_tag("portal/partials/service_status.html")
def service_status():
    """The worker and scheduler badges, rendered with the page and then refreshed live."""
    return {"services": service_states()}
