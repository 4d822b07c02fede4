"""What the benchmarks share: a data set from a command line's variant options, and a
revision's package extracted to run beside this tree's (``--baseline``)."""
from __future__ import annotations

import atexit
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _option_value(text: str) -> int | float | str:
    """``rate=200`` -> 200, ``noise=0.05`` -> 0.05, ``coordinates=cartesian`` -> the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def dataset(system: str, options: str):
    """The built-in ``system`` (the recorded pendulum from ``$CONSLAW_DATA_DIR``), or a variant
    of it with ``make_variant`` options written ``key=value,...``; ``repeat=q:q_deg:deg`` adds
    column ``q`` again as ``q_deg`` in degrees (one reading recorded twice)."""
    from conslaw.datasets import load_dataset, make_variant

    if system == "real-pendulum":
        return load_dataset(system, data_dir=os.environ.get("CONSLAW_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    values = dict(item.split("=") for item in options.split(",") if item)
    repeat = values.pop("repeat", None)
    variant = make_variant(system, **{key: _option_value(value) for key, value in values.items()}).dataset
    return variant.with_repeated_column(*repeat.split(":")) if repeat else variant


def extract(revision: str) -> str:
    """A directory holding ``revision``'s ``conslaw`` package (put it first on PYTHONPATH),
    removed when the benchmark ends."""
    directory = tempfile.mkdtemp(prefix="conslaw-baseline-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "conslaw"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def measured(script: str, tree: str, arguments: list[str]) -> dict:
    """``script --measure ARGUMENTS`` in a fresh process with ``tree``'s package first on its path:
    the JSON of its last line (the run ends with the child's last error line if it fails)."""
    run = subprocess.run([sys.executable, script, "--measure", *arguments], env=dict(os.environ, PYTHONPATH=tree),
                         capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"{' '.join(arguments)} with {tree}: {(run.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
