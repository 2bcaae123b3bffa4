"""Veriff's error answers: `{"status": "fail", "code": "<code>", "message": "…"}` (the seed,
"Response and error codes"; README, "Endpoints"). The seed writes the key as `"code:"`, a typo; we
emit `"code"`. Messages are Veriff's own wording where the docs give it.
"""

from typing import Any

MESSAGES = {
    # The seed: the legacy "invalid vendor key". The 18xx codes below replaced it for header
    # checks; the sandbox keeps it for a session that belongs to another integration.
    "1101": "Invalid Vendor API Key.",
    "1102": "Mandatory parameters are missing from the request.",
    "1104": "Request includes invalid parameters.",
    "1201": "Invalid timestamp. Timestamp must not be older than one hour.",
    "1202": "Timestamp format is incorrect. YYYY-MM-DDTHH:MM:S+Timezone Offset|Z or UTC.",
    "1301": "Requested features are not supported.",
    "1302": "Only HTTPS return URLs are allowed.",
    "1303": "Invalid status.",
    "1304": 'Cannot transition to "{status}" status.',
    "1400": "Image data not found.",
    "1401": "Image is not in valid base64.",
    "1402": "Image context is not supported.",
    "1403": "Image property is missing.",
    "1500": "vendorData field cannot be more than 1000 symbols.",
    "1501": "vendorData must be a string.",
    "2003": "Date of birth is not a valid date.",
    "2102": "Document number may contain only characters and numbers A-Z, 0-9.",
    "2103": "Document type is not supported.",
    "2104": "Document from provided country is not supported.",
    # Credentials and authorization codes (devdocs.veriff.com, README, "Authentication and signatures").
    "1801": "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.",
    "1802": "API key is not a valid UUID.",
    "1803": "Integration with the API key was not found.",
    "1812": "Signature is not a valid SHA256 hash.",
    "1813": "Signature does not match the SHA256 hash of query ID and integration API secret.",
    "1814": "Signature does not match the SHA256 hash of request body and integration API secret.",
    "1818": "Signature does not match the HMAC-SHA256 of query ID and integration API secret.",
    "1819": "Signature does not match the HMAC-SHA256 of request body and integration API secret.",
}


class ApiError(Exception):
    """An error answer of the provider API. Raised anywhere below a view, rendered by it."""

    def __init__(self, http_status: int, code: str | None, message: str):
        super().__init__(f"{http_status} {code or ''} {message}".strip())
        self.http_status = http_status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        if self.code is None:
            return {"status": "fail", "message": self.message}
        return {"status": "fail", "code": self.code, "message": self.message}


def fail(code: str, *, http_status: int = 400, **fmt: str) -> ApiError:
    """The error for a numbered Veriff code, e.g. `raise fail("1102")`."""
    return ApiError(http_status, code, MESSAGES[code].format(**fmt))


def unauthorized(code: str) -> ApiError:
    return fail(code, http_status=401)


NOT_FOUND_MESSAGE = "Not Found."


def not_found() -> ApiError:
    return ApiError(404, None, NOT_FOUND_MESSAGE)


def conflict(message: str) -> ApiError:
    # Media after submit → 409 Conflict (README, "Endpoints"); Veriff documents no numbered code.
    return ApiError(409, None, message)
