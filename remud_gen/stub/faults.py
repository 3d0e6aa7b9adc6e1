"""Deterministic fault injection: which attempt of which request fails, and how the failure looks on the wire.

A fault is decided from the request digest, the settings seed and the attempt number of that request, so a run
is reproducible yet a client's retry (same body, next attempt) gets a fresh draw and can succeed. With
`max_faults_per_request` a test can make "first attempt fails, retry succeeds" certain (rate 1.0, max 1).
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from remud_gen.stub.answer import seed_of
from remud_gen.stub.error_responses import ApiError
from remud_gen.stub.settings import FAULT_KINDS, StubSettings

# Attempt counters are per request digest; a long benchmark must not grow them without bound.
_MAX_TRACKED = 200_000
_JSON_ONLY = frozenset({"malformed"})


class FaultInjector:
    """Decides, per attempt of a request, whether and which fault to inject.

    Args:
        settings: the fault rates, `max_faults_per_request` and the seed.
    """

    def __init__(self, settings: StubSettings) -> None:
        self.settings = settings
        self.kinds = [(kind, settings.fault_rate(kind)) for kind in FAULT_KINDS if settings.fault_rate(kind) > 0]
        self._attempts: dict[bytes, int] = {}
        self._faulted: dict[bytes, int] = {}

    def decide(self, digest: bytes, wants_json: bool) -> str | None:
        """Return the fault kind for this attempt of the request with `digest`, or None.

        Args:
            digest: the request's content hash.
            wants_json: whether JSON content was asked for; "malformed" only applies then.
        """
        if not self.kinds:
            return None
        attempt = self._attempts.get(digest, 0)
        self._remember(self._attempts, digest, attempt + 1)
        done = self._faulted.get(digest, 0)
        cap = self.settings.max_faults_per_request
        if cap is not None and done >= cap:
            return None
        draw = (seed_of(digest, self.settings.seed, "fault", attempt) >> 11) / float(1 << 53)
        edge = 0.0
        for kind, rate in self.kinds:
            edge += rate
            if draw < edge:
                if kind in _JSON_ONLY and not wants_json:
                    return None
                self._remember(self._faulted, digest, done + 1)
                return kind
        return None

    @staticmethod
    def _remember(table: dict[bytes, int], key: bytes, value: int) -> None:
        table[key] = value
        if len(table) > _MAX_TRACKED:
            # Dicts keep insertion order, so this forgets the requests seen longest ago.
            for old in list(table)[: _MAX_TRACKED // 4]:
                del table[old]


def retry_headers(settings: StubSettings, wait_s: float) -> dict[str, str]:
    """Retry-After and/or retry-after-ms headers asking the client to wait `wait_s` seconds."""
    headers: dict[str, str] = {}
    if settings.retry_after_header in ("seconds", "both"):
        # HTTP allows only whole seconds in Retry-After; round up so a client never retries early.
        headers["Retry-After"] = str(max(0, math.ceil(wait_s)))
    if settings.retry_after_header in ("ms", "both"):
        headers["retry-after-ms"] = str(max(0, round(wait_s * 1000)))
    return headers


def rate_limited(settings: StubSettings, wait_s: float, extra: dict[str, str], injected: bool) -> ApiError:
    """The 429 a rate-limited request gets, with retry hints and the rate-limit headers in `extra`."""
    what = "injected fault" if injected else "requests or tokens per minute exhausted"
    return ApiError(
        429,
        f"Rate limit reached for {settings.model} ({what}). Please try again in {wait_s:g}s.",
        code="rate_limit_exceeded",
        headers={**extra, **retry_headers(settings, wait_s)},
    )


def server_error(kind: str, settings: StubSettings) -> ApiError:
    """The 500 or 503 a failing or overloaded OpenAI-compatible server sends; a 503 says when to come back."""
    if kind == "503":
        message = "The server is overloaded or not ready yet (injected fault)."
        return ApiError(503, message, code="overloaded", headers=retry_headers(settings, settings.retry_after_s))
    return ApiError(500, "The server had an error while processing your request (injected fault).")


def drop(request: web.Request) -> web.Response:
    """Close the connection under the request; the client sees a disconnect and no response."""
    if request.transport is not None:
        request.transport.close()
    # aiohttp still wants a response object; with the transport closed it is never written.
    return web.Response(status=499)


def bad_body(body: dict[str, Any], headers: dict[str, str]) -> web.Response:
    """An HTTP 200 whose JSON body is cut off half way, like a proxy that lost the tail."""
    text = json.dumps(body)
    return web.Response(text=text[: len(text) // 2], content_type="application/json", headers=headers)


def error_200(headers: dict[str, str]) -> web.Response:
    """An HTTP 200 carrying an error object and no choices, as gateways report an upstream provider's failure."""
    error = {"message": "Upstream provider returned an error (injected fault).", "code": 502}
    return web.Response(text=json.dumps({"error": error}), content_type="application/json", headers=headers)
