"""`python -m levlab` runs the command line."""

from levlab.cli import run

run()
