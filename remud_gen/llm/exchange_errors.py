"""How the client's exchanges fail, and how a failure is sorted and told: worth retrying, or final for the item.

The exchange failures are the client's own, shaped like the openai SDK's (`APIStatusError` with `status_code`,
`body`, `message` and the response headers; `APITimeoutError`; `APIConnectionError`): both transports raise them
(`sdk.py` translates the SDK's), so a command that sends chat requests on plain aiohttp does not pay ~0.6 s to import
the SDK. What is retried and how long it waits is `retry.py`'s; a server refusing a feature, `refusal.py`'s.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from remud_gen.redact import redact

RETRYABLE_STATUS = frozenset({408, 409, 429})


class APIError(Exception):
    """One HTTP exchange with the endpoint failed."""


class APIStatusError(APIError):
    """The endpoint answered with a status other than 2xx.

    Attributes:
        status_code: the HTTP status.
        body: the ``error`` object of OpenAI's error JSON (or the whole body, or its text when it is not JSON).
        headers: the response headers (case-insensitive), where `Retry-After` is read.
    """

    def __init__(self, message: str, *, status_code: int, body: object, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.headers = headers

    @classmethod
    def from_answer(cls, status: int, headers: Mapping[str, str], content: bytes) -> APIStatusError:
        """The error for a non-2xx answer, with the message and body the openai SDK would give it."""
        text = content.decode("utf-8", "replace").strip()
        body: Any = text
        with contextlib.suppress(ValueError):
            body = json.loads(text)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = f"Error code: {status}"
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            message += f" - {error['message']}"
        return cls(message, status_code=status, body=error, headers=headers)


class APITimeoutError(APIError):
    """No answer within the timeout."""

    def __init__(self) -> None:
        super().__init__("Request timed out.")


class APIConnectionError(APIError):
    """The connection could not be made, or broke before the answer was complete (the cause is chained)."""

    def __init__(self) -> None:
        super().__init__("Connection error.")


class RequestFailed(Exception):
    """A request failed for good; ``kind`` names the failure class written to failures.jsonl.

    ``fix`` is set when the endpoint refused a feature of the request (see `refusal`): every request of the stage
    would fail the same way, so the stage stops, and ``fix`` names the setting that mends it.
    """

    def __init__(
        self, kind: str, message: str, attempts: int = 1, raw: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.attempts = attempts
        self.raw = raw
        self.fix = fix


class BadResponse(Exception):
    """HTTP 200 whose body is not the JSON of a chat completion (a proxy or server cut it off): worth a retry.

    ``glimpse`` is the body's content type and first bytes when it is not JSON at all.
    """

    def __init__(self, message: str, glimpse: str = "") -> None:
        super().__init__(message)
        self.glimpse = glimpse


class Unusable(Exception):
    """Before any answer, the endpoint showed it cannot serve chat completions: it is not an OpenAI-style API (a web
    page, a plain-text 404 or 501), or it took the request and never answered. Not retried: the stage stops."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def is_json(text: str | bytes) -> bool:
    """Whether ``text`` is one JSON document."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def glimpse(headers: Mapping[str, str], content: bytes) -> str:
    """A body as a user can recognise it: its content type and first bytes."""
    kind = headers.get("content-type") or "no content type"
    head = content[:120].decode("utf-8", "replace")
    head = " ".join(head.split())  # one line, whatever the page's layout
    return f"{kind}, starting {head!r}" if head else f"{kind}, empty"


def unusable(exc: BaseException, url: str, timeout_s: float) -> Unusable | None:
    """What a failed first exchange says about the endpoint as a whole (None: it may be the request's own trouble).

    A body that is not JSON where an OpenAI-style API always sends JSON (a 200, a 404, 405 or 501; not the 5xx and
    429 pages proxies put up while a server starts) means ``url`` is not such an API; a timeout before any answer means
    a server that takes requests and never answers.
    """
    if isinstance(exc, APITimeoutError):
        return Unusable(
            "no_answer",
            f"POST {url} got no answer within {timeout_s:g} s (endpoint.timeout_s): the server takes requests but "
            "does not answer them; check that it is serving the model, or raise endpoint.timeout_s for a slow one",
        )
    status = glimpsed = None
    if isinstance(exc, BadResponse) and exc.glimpse:
        status, glimpsed = 200, exc.glimpse
    elif isinstance(exc, APIStatusError) and isinstance(exc.body, str) and exc.status_code in _NOT_API_STATUS:
        status, glimpsed = exc.status_code, glimpse(exc.headers, exc.body.encode())
    if status is None:
        return None
    return Unusable(
        "not_openai",
        f"POST {url} answered {status} with {glimpsed}: not an OpenAI-style JSON body, so this is not an "
        "OpenAI-compatible chat API; check base_url / --base-url",
    )


_NOT_API_STATUS = frozenset({400, 404, 405, 406, 415, 501})


def whole_message(exc: APIStatusError) -> str:
    """The server's own words, every line of them (a pydantic error's first line is only "1 validation error:")."""
    body = exc.body
    message = exc.message
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            message = str(err["message"])
        elif isinstance(body.get("detail"), str):  # FastAPI's own error shape
            message = body["detail"]
        elif isinstance(body.get("detail"), list):
            message = json.dumps(body["detail"], ensure_ascii=False)
    return " ".join(message.split())[:2000] or f"HTTP {exc.status_code}"


def is_retryable(exc: BaseException) -> bool:
    """408, 409, 429, 5xx, timeouts, dropped connections and garbled bodies are worth another try; nothing else is."""
    if isinstance(exc, BadResponse):
        return True
    if isinstance(exc, APIStatusError):
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return isinstance(exc, (APITimeoutError, APIConnectionError))


def is_connection_failure(exc: BaseException) -> bool:
    """Failures that say the server itself is in trouble (used to steer a fleet away from it)."""
    if isinstance(exc, APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, (APITimeoutError, APIConnectionError))


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, or `retry-after` in seconds or as an HTTP date)."""
    if not isinstance(exc, APIStatusError):
        return None
    headers = exc.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                pass
            try:  # RFC 9110 also allows "Wed, 21 Oct 2015 07:28:00 GMT"
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                continue
    return None


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS style): uniform in [base/2, min(cap, base * 2**attempt)]."""
    top = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(min(base / 2, top), top)


_ABOUT_KEY = re.compile(r"(?i)(api[ _-]?key|token|auth|credential|unauthori[sz]ed|permission)")


def is_auth_failure(kind: str | None, message: str) -> bool:
    """A 401, or a 403 whose words are about the key: every further request would be refused the same way."""
    return kind == "http_401" or (kind == "http_403" and bool(_ABOUT_KEY.search(message)))


def auth_message(url: str, said: str, key_env: str) -> str:
    """One line for a refused key that names the variable the key came from, never the key."""
    if os.environ.get(key_env):
        return f"{url} rejected the API key in ${key_env} ({said}); put a valid key in ${key_env}"
    return (
        f"{url} wants an API key ({said}) and ${key_env} is not set; export {key_env}=... (endpoint.api_key_env "
        "names the variable)"
    )


def describe(exc: BaseException) -> tuple[str, str]:
    """A failure class and a one-line message with the server's own words when there are any (all of its lines:
    the first line of a pydantic error is only "1 validation error:"), secrets masked."""
    kind, message = _describe(exc)
    return kind, redact(message)


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, APIStatusError):
        return f"http_{exc.status_code}", whole_message(exc)[:500]
    if isinstance(exc, BadResponse):
        return "bad_response", str(exc)
    if isinstance(exc, Unusable):
        return exc.kind, exc.message
    if isinstance(exc, APITimeoutError):
        return "timeout", "the request timed out"
    if isinstance(exc, APIConnectionError):
        return "connection", f"connection failed: {exc.__cause__ or exc}"
    return type(exc).__name__, str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
