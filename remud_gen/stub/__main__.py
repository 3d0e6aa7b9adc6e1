"""`python -m remud_gen.stub --port 8000 --latency-s 0.5 --fault-429 0.1`: run the stand-in in the foreground.

Every StubSettings field is an option (underscores become dashes); booleans take true/false.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from remud_gen.stub.server import serve
from remud_gen.stub.settings import StubSettings


def main(argv: list[str] | None = None) -> int:
    """Parse options into StubSettings and serve until SIGINT/SIGTERM; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m remud_gen.stub", description=__doc__.splitlines()[0])
    for name, info in StubSettings.model_fields.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=info.description)
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    try:
        settings = StubSettings.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"error: --{'-'.join(map(str, first['loc'])).replace('_', '-')}: {first['msg']}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
