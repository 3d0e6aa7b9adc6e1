"""`python -m remud_gen` is `remud-gen`."""

from remud_gen.cli import main

main()
