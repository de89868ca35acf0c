"""The server error page: no traceback, and the request id that the log line of
the error carries too."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from ..request_id import request_id_of


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponseServerError:
    # Rendered without the request's context processors: the database may be what failed.
    page = loader.get_template("500.html").render({"request_id": request_id_of(request)})
    return HttpResponseServerError(page)
