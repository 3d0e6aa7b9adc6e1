"""OpenAI-shaped error responses for the stand-in.

Clients branch on the status code and on `error.type`/`error.code`, so the stand-in returns the same JSON shape a
real OpenAI-compatible server does: `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

from aiohttp import web

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """A request the stand-in answers with an error status instead of a completion.

    Args:
        status: HTTP status code.
        message: one line a user can act on.
        code: machine-readable code (e.g. "missing_required_parameter"), or None.
        param: the request parameter at fault, or None.
        headers: extra response headers (e.g. Retry-After on a 429).
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The error as OpenAI's JSON body."""
        kind = _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}

    def response(self) -> web.Response:
        """The error as an aiohttp response."""
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str | None = "invalid_value") -> ApiError:
    """A 400 for a request that breaks the chat-completions contract."""
    return ApiError(400, message, code=code, param=param)
