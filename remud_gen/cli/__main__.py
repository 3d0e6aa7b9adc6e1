"""`python -m remud_gen.cli` is `remud-gen`."""

from remud_gen.cli import main

main()
