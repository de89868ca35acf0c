"""The expression builder: write an expression, pick a directory user, and see
what the expression would give for that user before saving a mapping.

It only reads (the directory through Microsoft Graph, nothing in the portal),
so Provisioning readers may use it too.
"""

from __future__ import annotations

import re
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

from provisioning.connectors.errors import ConnectorError, NotFoundError
from provisioning.constants import ObjectType
from provisioning.defaults import SOURCE_ATTRIBUTES
from provisioning.engine.mapping import user_source_attributes
from provisioning.expressions import (
    FUNCTIONS,
    ExpressionError,
    ExpressionEvaluationError,
    evaluate_detailed,
    parse,
    referenced_attributes,
)

from ..mapping_forms import attribute_warnings
from ..permissions import get_application_for_reader
from .assignments import source_connector

#: Directory object ids are GUIDs; anything else is not looked up.
OBJECT_ID = re.compile(r"[0-9A-Za-z-]{1,64}\Z")


def _read_user(user_id: str, names: set[str]) -> tuple[dict | None, list[str], str]:
    """(the user's source attributes, warnings, error) for the attributes an expression reads.

    Graph refuses a ``$select`` naming a property it does not know; the
    engine's own read would fail the same way, but here the other attributes
    are still worth seeing, so the read is tried again with the standard ones.
    """
    connector = source_connector()
    warnings: list[str] = []
    try:
        user = connector.get_user(user_id, select=connector.select_for(names))
    except NotFoundError:
        return None, warnings, "This user is no longer in the directory: search for another one."
    except ConnectorError as exc:
        known = {name for name in names if name in SOURCE_ATTRIBUTES[ObjectType.USER]}
        if known == names:
            return None, warnings, f"The user could not be read from Microsoft Entra ID: {exc.message}"
        try:
            user = connector.get_user(user_id, select=connector.select_for(known))
        except ConnectorError as again:
            return None, warnings, f"The user could not be read from Microsoft Entra ID: {again.message}"
        unknown = ", ".join(sorted(names - known))
        warnings.append(f"Microsoft Entra ID refused to read {unknown} ({exc.message}): here it reads as null.")
    return user_source_attributes(user), warnings, ""


def try_expression(expression: str, user_id: str = "", object_type: str = ObjectType.USER) -> dict:
    """Everything the builder shows for an expression and (optionally) a user.

    ``object_type`` says whose attribute names the expression should use; a
    group mapping's expression is checked, not evaluated (users are what the
    builder reads)."""
    result: dict = {"expression": expression, "user_id": user_id, "warnings": []}
    if not expression.strip():
        result["empty"] = True
        return result
    try:
        tree = parse(expression)
    except ExpressionError as error:
        result["parse_error"] = error
        return result
    names = referenced_attributes(tree)
    result["warnings"] = attribute_warnings(names, object_type)
    if not user_id or object_type != ObjectType.USER:
        return result
    if not OBJECT_ID.match(user_id):
        result["fetch_error"] = "Pick a user from the search results."
        return result
    attributes, warnings, error = _read_user(user_id, names)
    result["warnings"] += warnings
    if error:
        result["fetch_error"] = error
        return result
    result["user"] = attributes
    result["read"] = [(name, attributes.get(name)) for name in sorted(names)]
    try:
        evaluation = evaluate_detailed(tree, attributes)
    except ExpressionEvaluationError as error:
        result["evaluation_error"] = error
        return result
    result["evaluation"] = evaluation
    result["is_list"] = isinstance(evaluation.value, list)
    return result


def _return_url(request: HttpRequest) -> str:
    """Where "Use this expression" goes: a mapping editor of this portal."""
    url = request.GET.get("return", "")
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


@require_safe
def builder(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The page. It is a GET form, so it works without scripts; with them, the
    result follows the typing and the user search is live."""
    application = get_application_for_reader(request, app_id)
    expression = request.GET.get("expression", "")
    user_id = request.GET.get("user", "").strip()
    query = request.GET.get("q", "").strip()
    users, search_error = [], ""
    if query:
        users, search_error = _search(query)
    return render(request, "portal/mappings/expression_builder.html", {
        "application": application, "section": "provisioning", "result": try_expression(expression, user_id),
        "query": query, "users": users, "search_error": search_error, "return_url": _return_url(request),
        "functions": FUNCTIONS.values(),
    })


@require_safe
def evaluate(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The result panel alone, for live use."""
    application = get_application_for_reader(request, app_id)
    object_type = request.GET.get("object_type", ObjectType.USER)
    if object_type not in ObjectType.values:
        object_type = ObjectType.USER
    result = try_expression(request.GET.get("expression", ""), request.GET.get("user", "").strip(), object_type)
    return render(request, "portal/mappings/_builder_result.html",
                  {"application": application, "result": result, "check": request.GET.get("check") == "1"})


def _search(query: str) -> tuple[list[dict], str]:
    try:
        return source_connector().search_directory(query, limit=10, kinds=("users",)), ""
    except ConnectorError as exc:
        return [], exc.message


@require_safe
def search_users(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Directory users whose name or user principal name starts with ``q``."""
    application = get_application_for_reader(request, app_id)
    query = request.GET.get("q", "").strip()
    users, error = _search(query) if query else ([], "")
    return render(request, "portal/mappings/_builder_users.html",
                  {"application": application, "users": users, "query": query, "search_error": error,
                   "selected": request.GET.get("user", "")})
