"""Secrets the process holds, and their removal from anything remud-gen writes or prints.

A server may echo the key it was sent (a 401 body quoting the bearer token, a proxy's debug page), and such text ends
up in failures.jsonl, on stderr and in stop reasons. Everything that carries a server's words or a URL passes through
`redact` before it is written or printed: the API key in use, the values of environment variables whose names say
they are secret, passwords given on the command line, and the user:password part of URLs all become ``***``.
"""

from __future__ import annotations

import os
import re

MASK = "***"
_MIN_LEN = 6  # shorter values would mask ordinary words ("test", "none") all over a message
_held: set[str] = set()
_SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw|credential|auth)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


def hold(secret: str | None) -> None:
    """Remember ``secret`` (an API key, a password) so `redact` masks it wherever it appears."""
    if secret and len(secret) >= _MIN_LEN:
        _held.add(secret)


def _secrets() -> list[str]:
    from_env = (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_LEN)
    # longest first: a key that contains another secret is masked whole
    return sorted({*_held, *from_env}, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every secret this process holds, and every URL's user:password, replaced by ``***``."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text:
        text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    return text
