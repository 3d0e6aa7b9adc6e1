"""`python -m remud_gen.stub [OPTIONS]` is `remud-gen stub-server [OPTIONS]`: one front-end, the same options.

Example:
    python -m remud_gen.stub --port 8011 --latency 0.5 --fault 429=0.1
"""

from __future__ import annotations

import sys

from remud_gen.cli import app

sys.exit(app(["stub-server", *sys.argv[1:]], prog_name="python -m remud_gen.stub"))
