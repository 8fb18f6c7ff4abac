"""Drive's error body: ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}],
"status"}}``; the reasons clients branch on (rateLimitExceeded, storageQuotaExceeded,
insufficientFilePermissions, notFound, backendError, authError)."""

from __future__ import annotations

from sandbox.core.http import HTTPError, Response, json_response

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
DOMAIN = {"rateLimitExceeded": "usageLimits", "userRateLimitExceeded": "usageLimits",
          "storageQuotaExceeded": "usageLimits", "authError": "global"}


def drive_error(code: int, reason: str, message: str, headers: list[tuple[str, str]] | None = None,
                location: str | None = None, location_type: str = "parameter", item_message: str | None = None
                ) -> Response:
    """`location` names the bad query parameter (`"locationType": "parameter"`), as Drive's 400s do, or the
    header (`location_type="header"`, 401s); `item_message`: the ``errors[]`` item's own message when it is
    not the top-level one (Google's auth errors: "Invalid Credentials", "Insufficient Permission")."""
    item = {"domain": DOMAIN.get(reason, "global"), "reason": reason, "message": item_message or message}
    if location:
        item.update(locationType=location_type, location=location)
    body = {"error": {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN"), "errors": [item]}}
    return json_response(body, code, headers)


class DriveError(HTTPError):
    """Raised by handlers; ``location`` names the bad parameter (the API routes answer it with
    ``response()``, which keeps the location)."""

    def __init__(self, code: int, reason: str, message: str, location: str | None = None):
        super().__init__(code, reason, message)
        self.location = location

    def response(self) -> Response:
        return drive_error(self.status, self.message, self.detail or self.message, self.headers, self.location)
