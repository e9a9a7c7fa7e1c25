"""``python -m wan26core`` runs the CLI."""

from wan26core.cli import main_entry

main_entry()
