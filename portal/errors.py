"""The one domain error type raised by services, with a message a user can read."""


class DomainError(Exception):
    """A refused action: wrong state, not allowed, or invalid input.

    ``code`` is machine-readable (``not_allowed``, ``invalid_state``, ``invalid``,
    ``not_found``); ``message`` is shown to the user as is.
    """

    status_by_code = {"not_allowed": 403, "not_found": 404, "invalid_state": 409, "conflict": 409}

    def __init__(self, message: str, *, code: str = "invalid", details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return self.status_by_code.get(self.code, 400)
