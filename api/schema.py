"""OpenAPI details that are the same for every endpoint: the API-key security scheme and the
error responses (one format, documented once, with an example per status)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter

from api.idempotency import HEADER as IDEMPOTENCY_HEADER


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <key>`. Keys are created in the admin or with "
            "`python manage.py create_api_key NAME --scopes read,write`; each has scopes "
            "(`read`, `write`, `staff`).",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A logged-in staff member of the back-office (unsafe methods need X-CSRFToken).",
        }


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={"type": "string", "pattern": "^[!-~]{1,255}$", "minLength": 1, "maxLength": 255},
    description="A unique key per operation (a UUID is fine). A retry with the same key and the same "
    "body returns the first response (with `Idempotent-Replayed: true`) and creates nothing; the same "
    "key with another body is refused with 422. Kept 24 hours.",
)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs: validation_error, malformed_request, "
                    "not_authenticated, authentication_failed, insufficient_scope, permission_denied, "
                    "not_found, method_not_allowed, not_acceptable, unsupported_media_type, conflict, "
                    "restart_not_allowed, idempotency_key_reused, idempotency_request_in_progress, "
                    "rate_limited, server_error.",
                },
                "message": {"type": "string", "description": "For developers; may change."},
                "fields": {
                    "type": "object",
                    "description": "Request fields at fault and what is wrong with each (empty when none).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def _example(code: str, message: str, fields: dict | None = None) -> dict:
    return {"value": {"error": {"code": code, "message": message, "fields": fields or {}}}}


ERRORS = {
    "400": (
        "The request is not valid: a field, a query parameter or the JSON body.",
        {
            "validation_error": _example(
                "validation_error",
                "The request has invalid fields.",
                {
                    "external_ref": ["This field is required."],
                    "country": ["Two letters (ISO 3166-1 alpha-2)."],
                },
            ),
            "malformed_request": _example("malformed_request", "JSON parse error - Expecting value."),
        },
    ),
    "401": (
        "No credentials, or an unknown or revoked API key.",
        {
            "not_authenticated": _example(
                "not_authenticated", "Authentication credentials were not provided."
            ),
            "authentication_failed": _example(
                "authentication_failed", "This API key is not valid or has been revoked."
            ),
        },
    ),
    "403": (
        "The key lacks the scope this endpoint needs (or the staff member the permission).",
        {
            "insufficient_scope": _example(
                "insufficient_scope", "This API key does not have the 'write' scope."
            ),
            "permission_denied": _example(
                "permission_denied", "Erasing a customer needs the 'kyc.erase_customer' permission."
            ),
        },
    ),
    "404": (
        "No such object (or an invalid pagination cursor).",
        {"not_found": _example("not_found", "No customer with this id.")},
    ),
    "409": (
        "The request conflicts with the current state.",
        {
            "conflict": _example(
                "conflict",
                "A customer with this external reference already exists.",
                {"external_ref": ["A customer with this external reference already exists."]},
            ),
            "idempotency_request_in_progress": _example(
                "idempotency_request_in_progress",
                "A request with this Idempotency-Key is still being processed. Retry in a moment.",
            ),
        },
    ),
    "415": (
        "The body is not JSON (send `Content-Type: application/json`).",
        {
            "unsupported_media_type": _example(
                "unsupported_media_type", 'Unsupported media type "text/plain".'
            )
        },
    ),
    "422": (
        "The Idempotency-Key was used before with a different request.",
        {
            "idempotency_key_reused": _example(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request. "
                "Use a new key for a new request.",
            )
        },
    ),
    "429": (
        "Too many requests for this key; the `Retry-After` header says when to retry.",
        {
            "rate_limited": _example(
                "rate_limited",
                "Too many requests. Retry after the number of seconds in the Retry-After header.",
            )
        },
    ),
    "500": (
        "Something went wrong on our side.",
        {"server_error": _example("server_error", "Something went wrong on our side.")},
    ),
}


def _error_response(status: str, ref: str) -> dict:
    description, examples = ERRORS[status]
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ref}, "examples": examples}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
        }
    if status == "401":
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Api-Key`"}}
    return response


PATH_PARAMETERS = {
    "customer_id": "The customer's id (`id` of a customer).",
    "external_ref": "Your own reference of the customer, URL-encoded.",
    "verification_id": "The verification's id (`id` of a verification).",
    "case_id": "The case's id: the id of its verification.",
    "review_id": "The staff review's id.",
    "media_id": "The media file's id.",
    "endpoint_id": "The notification endpoint's id.",
    "event_id": "The event's id.",
}


# Filters that mean the same on every list, described once.
QUERY_PARAMETERS = {
    "created_after": "Only those created at or after this time (ISO 8601, e.g. 2025-01-31T00:00:00Z).",
    "created_before": "Only those created before this time (ISO 8601).",
    "customer": "Only those of the customer with this id.",
    "external_ref": "Only the customer with this external reference (exact).",
    "provider": "Only sessions at this provider.",
    "provider_session_id": "Only the session with this provider session id (exact).",
    "state": "Only deliveries in these states (repeat the parameter for several).",
    "type": "Only events of this type, e.g. customer.kyc_status.changed.",
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: documents the errors each operation can answer, in the one format."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = "#/components/schemas/Error"
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if not parameter.get("description"):
                    docs = PATH_PARAMETERS if parameter["in"] == "path" else QUERY_PARAMETERS
                    parameter["description"] = docs.get(parameter["name"], "")
                schema = parameter.get("schema", {})
                if (
                    parameter["in"] == "query"
                    and parameter["name"] != "cursor"
                    and schema.get("type") == "string"
                ):
                    schema.setdefault("minLength", 1)  # an empty filter is refused, not ignored
                    if "enum" not in schema and "format" not in schema:
                        schema.setdefault("pattern", r"^[^\x00]*$")  # no null characters
            statuses = ["400", "401", "403", "429", "500"]
            params = operation.get("parameters", [])
            if "{" in path or any(p.get("name") == "cursor" for p in params):
                statuses.append("404")
            if "requestBody" in operation:
                statuses.append("415")
            if method == "post" and any(p.get("name") == IDEMPOTENCY_HEADER for p in params):
                statuses += ["409", "422"]
            for status in statuses:
                operation["responses"].setdefault(status, _error_response(status, ref))
    return result
