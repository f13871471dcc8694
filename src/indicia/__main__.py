"""``python -m indicia`` runs the command line."""

from indicia.cli import main

main()
