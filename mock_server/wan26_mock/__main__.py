"""``python -m wan26_mock`` is ``wan26 mock serve``."""

from __future__ import annotations

import argparse
import sys

from .serve import add_arguments, serve

parser = argparse.ArgumentParser(prog="python -m wan26_mock", description="Serve the wan26 mock of every provider.")
add_arguments(parser)
sys.exit(serve(parser.parse_args()))
