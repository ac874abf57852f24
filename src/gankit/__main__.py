"""`python -m gankit` is the `gankit` command (and what torchrun launches)."""

from gankit.cli import main

main()
