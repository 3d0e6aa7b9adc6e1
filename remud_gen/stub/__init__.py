"""Offline stand-in for an OpenAI-compatible endpoint: proves the plumbing, it is NOT a model.

Answers are built deterministically from the request's own source text, JSON-schema requests get valid JSON,
and faults (429/500/503, dropped connections, slow, truncated, empty or malformed answers) are injected on
demand. Use `serve(StubSettings(...))` in the foreground or `with BackgroundStub() as stub:` in tests.
"""

from remud_gen.stub.background import BackgroundStub
from remud_gen.stub.fill import fill_schema
from remud_gen.stub.server import BANNER, make_app, serve
from remud_gen.stub.settings import FAULT_KINDS, StubSettings

__all__ = ["BANNER", "FAULT_KINDS", "BackgroundStub", "StubSettings", "fill_schema", "make_app", "serve"]
