"""``python -m wan26core`` runs the CLI."""

from .cli import main_entry

main_entry()
