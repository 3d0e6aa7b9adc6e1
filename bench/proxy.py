"""A counting reverse proxy: forwards every request to the stand-in and tallies chat response body bytes.

The journal target is relative to the size of the answers the endpoint sent, which neither the client nor the
stand-in records; this proxy, started in its own process in front of the stand-in for a sample run, measures it.
GET /proxy-stats returns {"responses": n, "body_bytes": total} for POST /v1/chat/completions answers with status 200,
"max_429_chain": the most 429s one request body drew in a row (identical bytes = a retry), and "chains":
[first-arrival index, 429s in a row] for every request that drew any.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


def make_app(upstream: str) -> web.Application:
    tally = {"responses": 0, "body_bytes": 0, "max_429_chain": 0}
    chains: dict[bytes, int] = {}  # request body digest -> 429s in a row so far
    order: dict[bytes, int] = {}  # request body digest -> index of its first arrival
    drawn: dict[bytes, int] = {}  # request body digest -> longest run of 429s it drew
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        session = ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=900))
        app["session"] = session
        yield
        await session.close()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**tally, "chains": [[order[d], k] for d, k in drawn.items()]})

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
        async with app["session"].request(
            request.method, upstream + request.rel_url.path_qs, data=body, headers=headers
        ) as up:
            data = await up.read()
            if request.path.endswith("/chat/completions"):
                digest = hashlib.blake2b(body, digest_size=16).digest()
                order.setdefault(digest, len(order))
                if up.status == 429:
                    chains[digest] = chains.get(digest, 0) + 1
                    drawn[digest] = max(drawn.get(digest, 0), chains[digest])
                    tally["max_429_chain"] = max(tally["max_429_chain"], chains[digest])
                else:
                    chains.pop(digest, None)
                if up.status == 200:
                    tally["responses"] += 1
                    tally["body_bytes"] += len(data)
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in _HOP}
            return web.Response(status=up.status, body=data, headers=out_headers)

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/proxy-stats", stats)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def serve(upstream: str) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    print(f"proxy listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--upstream", required=True, help="the stand-in's root URL, e.g. http://127.0.0.1:8011")
    args = ap.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.upstream.rstrip("/")))


if __name__ == "__main__":
    main()
