"""Solaris's error answers: `{"errors": [{"id", "status", "code", "title", "detail", "source"}]}`
(../README.md, "Errors"). `status` is a string, as in Solaris's documentation.
"""

import uuid
from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    """An error answer of the provider API. Raised anywhere below a view, rendered by it."""

    def __init__(self, http_status: int, code: str, title: str, detail: str, source: dict | None = None):
        super().__init__(f"{http_status} {code}: {detail}")
        self.http_status = http_status
        self.code = code
        self.title = title
        self.detail = detail
        self.source = source

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": str(self.http_status),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.source is not None:
            error["source"] = self.source
        return {"errors": [error]}

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.http_status)
        if self.http_status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="solaris-sandbox"'
        return response


def unauthorized(detail: str = "Invalid Bearer Token") -> ApiError:
    return ApiError(401, "unauthorized", "Unauthorized", detail)


def not_found(model: str, object_id: str) -> ApiError:
    # Solaris names the model class in the detail (its docs: "Couldn't find 'Solaris::Person' …").
    return ApiError(
        404, "model_not_found", "Model Not Found", f"Couldn't find '{model}' for id '{object_id}'."
    )


def invalid(field: str, message: str) -> ApiError:
    return ApiError(
        400,
        "validation_error",
        "Validation Error",
        f"{field} {message}",
        source={"field": field, "message": message},
    )


def bad_request(detail: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, "Bad Request", detail)


def invalid_status(status: str, wanted: str) -> ApiError:
    return ApiError(
        400, "invalid_status", "Invalid Status", f"The identification is {status}; it cannot become {wanted}."
    )


def server_error() -> ApiError:
    return ApiError(500, "internal_server_error", "Internal Server Error", "Sandbox fault injection.")
