"""`remud-gen stub-server`: the offline stand-in endpoint (NOT a model) for the demo, the tests and the benchmarks."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from remud_gen.cli.common import guarded
from remud_gen.errors import ConfigError


def stub_server(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    latency: Annotated[float, typer.Option("--latency", help="Seconds before each answer.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Change to get other (still deterministic) answers.")] = 0,
    reasoning: Annotated[bool, typer.Option("--reasoning", help="Also return reasoning_content.")] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault at a rate, e.g. --fault 429=0.1 (429 500 503 drop slow malformed "
            "truncate empty bad_body error_200).",
        ),
    ] = None,
    retry_after: Annotated[float, typer.Option("--retry-after", help="Seconds a 429 asks to wait.")] = 1.0,
) -> None:
    """Serve the stand-in OpenAI-compatible endpoint: it proves the plumbing, it is not a model.

    \b
    Example:
      remud-gen stub-server --port 8011 --latency 0.5 --fault 429=0.1
    """
    from remud_gen.stub.server import serve
    from remud_gen.stub.settings import StubSettings

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
        settings = StubSettings.model_validate(values)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ConfigError(f"stub-server: {'.'.join(map(str, e['loc']))}: {e['msg']}") from exc
    serve(settings)


def register(app: typer.Typer) -> None:
    app.command("stub-server", short_help="The offline stand-in endpoint (NOT a model).")(guarded(stub_server))
