"""The command line as the CLI tests run it (``test_cli.py``, ``test_cli_runs.py``): in a fresh
process or in this one, and a small user file."""
import contextlib
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from conslaw.cli import main

QUICK = ("--no-tailor", "--depth", "5", "--quiet", "--no-plots", "--jobs", "1")


def conslaw(*args, cwd=None):
    """``conslaw ARGS`` in a fresh Python process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "conslaw", *args], capture_output=True, text=True, cwd=cwd)


def in_process(*args, cwd=None):
    """``conslaw ARGS`` in this process (no interpreter start-up): exit code and stderr as a user
    sees them; an exception the CLI lets escape shows up as a traceback in stderr."""
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def invoke(*args):
    """``conslaw ARGS`` through click's runner, exceptions raised."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_csv(path: Path, rows, header="trajectory,t,q,p"):
    """A CSV file of ``header`` and ``rows``."""
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def oscillator_rows(n_traj=6, n=40, seed=0):
    """A small-angle oscillator recorded with q in degrees: q**2 + p**2 (q in rad) is conserved."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_traj):
        amplitude, phase = rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
        t = np.linspace(0, 3, n)
        q, p = amplitude * np.cos(2 * t + phase), -amplitude * np.sin(2 * t + phase)
        rows += [(k, ti, np.degrees(qi), pi) for ti, qi, pi in zip(t, q, p)]
    return rows
