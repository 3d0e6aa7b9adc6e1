"""What one running stand-in keeps between requests, stored on the aiohttp application under `STATE`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import cached_property

from aiohttp import web

from remud_gen.stub.faults import FaultInjector
from remud_gen.stub.ratelimit import RateWindow
from remud_gen.stub.request import Quirks
from remud_gen.stub.settings import StubSettings
from remud_gen.stub.stats import Stats


@dataclass
class StubState:
    """Settings, fault counters, rate window, stats and background tasks of one stand-in."""

    settings: StubSettings
    faults: FaultInjector
    window: RateWindow
    stats: Stats = field(default_factory=Stats)
    started: int = field(default_factory=lambda: int(time.time()))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @cached_property
    def quirks(self) -> Quirks:
        s = self.settings
        return Quirks(json_schema=s.json_schema, json_object_schema=s.json_object_schema, parts=s.parts)


STATE = web.AppKey("remud_gen_stub_state", StubState)
