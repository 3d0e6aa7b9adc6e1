"""`remud-gen stub-server`: the offline stand-in endpoint (NOT a model) for the demo, the tests and the benchmarks."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from remud_gen.cli.common import guarded
from remud_gen.errors import ConfigError


def stub_server(
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port to listen on (0: a free one).")] = 8000,
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    latency: Annotated[float, typer.Option("--latency", metavar="SECONDS", help="Seconds before each answer.")] = 0.0,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Change to get other (still deterministic) answers.")
    ] = 0,
    reasoning: Annotated[bool, typer.Option("--reasoning", help="Also return reasoning_content.")] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="FAULT=RATE",
            help="Inject a fault at a rate, e.g. --fault 429=0.1 (429 500 503 drop slow malformed "
            "truncate empty bad_body error_200).",
        ),
    ] = None,
    retry_after: Annotated[
        float, typer.Option("--retry-after", metavar="SECONDS", help="Seconds a 429 asks to wait.")
    ] = 1.0,
    like: Annotated[
        str,
        typer.Option(
            "--like",
            metavar="SERVER",
            help="Read requests as this server does: openai, llama-cpp (json_schema a 500, json_object + schema, "
            "content parts a 500) or llama-cpp-chatml (content parts dropped).",
        ),
    ] = "openai",
) -> None:
    """Serve the stand-in OpenAI-compatible endpoint: it proves the plumbing, it is not a model.

    \b
    Example:
      remud-gen stub-server --port 8011 --latency 0.5 --fault 429=0.1
      remud-gen stub-server --port 8012 --like llama-cpp
    """
    from remud_gen.stub.server import serve
    from remud_gen.stub.settings import IMITATIONS, StubSettings

    if like not in IMITATIONS:
        raise ConfigError(f"--like {like!r}: choose one of {', '.join(IMITATIONS)}")

    values: dict[str, object] = {
        "host": host,
        "port": port,
        "latency_s": latency,
        "seed": seed,
        "reasoning": reasoning,
        "retry_after_s": retry_after,
    }
    for item in fault or []:
        name, sep, rate = item.partition("=")
        if not sep:
            raise ConfigError(f"--fault {item!r}: write NAME=RATE, e.g. --fault 429=0.1")
        try:
            values[f"fault_{name.strip()}"] = float(rate)
        except ValueError as exc:
            raise ConfigError(f"--fault {item!r}: the rate must be a number between 0 and 1") from exc
    try:
        settings = StubSettings.like(like, **values)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ConfigError(f"stub-server: {'.'.join(map(str, e['loc']))}: {e['msg']}") from exc
    serve(settings)


def register(app: typer.Typer) -> None:
    app.command("stub-server", short_help="The offline stand-in endpoint (NOT a model).")(guarded(stub_server))
