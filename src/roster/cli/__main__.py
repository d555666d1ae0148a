"""Run the CLI as ``python -m roster.cli``."""

from roster.cli.main import main

main()
