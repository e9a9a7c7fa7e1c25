"""CLI start-up: ``wan26 --help`` and ``wan26 validate`` against ``python -c "import json"``, side by side.

Each round runs the three commands one after the other (so a busy machine slows all of them alike) and the
medians are compared. Target: ``wan26 --help`` <= 2 x ``python -c "import json"`` + 0.1 s. Also lists any heavy
module (httpx, rich, the client runtime, the mock) that ``--help`` or ``validate`` imported: there should be none.

    python bench/cli_startup.py [--runs 15] [--json]

Exits 1 when the target is missed or a heavy module was imported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUEST = HERE.parent / "examples" / "requests" / "duet.json"
HEAVY = ("httpx", "rich", "starlette", "uvicorn", "wan26_mock", "wan26core._runtime", "wan26core._client")
FACTOR, SLACK_S = 2.0, 0.1


def wan26_command() -> list[str]:
    """The ``wan26`` script of this interpreter's environment (as a user runs it), else ``python -m wan26core``."""
    script = Path(sys.executable).with_name("wan26")
    if script.exists():
        return [str(script)]
    found = shutil.which("wan26")
    return [found] if found else [sys.executable, "-m", "wan26core"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def heavy_imports(args: list[str]) -> list[str]:
    """The heavy modules a ``wan26`` command imports (run in-process under ``-X importtime``)."""
    code = f"import sys; from wan26core.cli import main; sys.argv = ['wan26', *{args!r}]; main(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=False)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return sorted(n for n in names if n in HEAVY or n.split(".")[0] in HEAVY)


def measure(runs: int) -> dict[str, object]:
    wan26 = wan26_command()
    commands = {
        "python -c 'import json'": [sys.executable, "-c", "import json"],
        "wan26 --help": [*wan26, "--help"],
        "wan26 validate": [*wan26, "validate", str(REQUEST), "-p", "fal/r2v-flash"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each: the file cache, not the interpreter, is being warmed
        timed(argv)
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(timed(argv))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["python -c 'import json'"]
    target = FACTOR * baseline + SLACK_S
    heavy = {"--help": heavy_imports(["--help"]), "validate": heavy_imports(["validate", str(REQUEST), "-p", "fal/r2v-flash"])}
    return {
        "runs": runs,
        "median_s": medians,
        "target_s": target,
        "help_ok": medians["wan26 --help"] <= target,
        "heavy_imports": heavy,
        "ok": medians["wan26 --help"] <= target and not any(heavy.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("WAN26_HOME", str(Path.home() / ".cache" / "wan26-bench-home"))
    result = measure(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        medians = result["median_s"]
        assert isinstance(medians, dict)
        print(f"CLI start-up, median of {args.runs} side-by-side rounds:")
        for name, value in medians.items():
            print(f"  {name:<26} {value * 1000:7.1f} ms")
        verdict = "ok" if result["help_ok"] else "MISSED"
        print(
            f"  target: wan26 --help <= {FACTOR:g} x import json + {SLACK_S:g} s = {result['target_s'] * 1000:.1f} ms: {verdict}"
        )
        heavy = result["heavy_imports"]
        assert isinstance(heavy, dict)
        for command, names in heavy.items():
            print(f"  heavy modules imported by wan26 {command}: {', '.join(names) or 'none'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
