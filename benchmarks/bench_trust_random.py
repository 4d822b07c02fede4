"""Trust on random variants: each cell draws a built-in system, its coordinates, the angle unit,
the sampling rate (10, 30 or 100 Hz), the noise (0, 0.5 or 2 %), the derivatives (exact or finite
differences of the noisy states) and the data's seed, and is judged as ``bench_trust.py`` judges.
``--noise-scale trajectory`` makes each trajectory's noise a fraction of its own spread (noisier
and quieter trajectories side by side) with the same draws. ``--all-systems`` also draws the
systems added after the recorded seeds (every one but Lorenz and three-body), so its draws are
other than a recorded seed's; ``--derive`` gives each cell's data as a camera records them (the
columns that are another's time derivative dropped and derived again, ``bench_trust.py --derive``);
``--constants`` sets each physical constant of the system (masses, lengths, stiffnesses, rates:
not the ranges the initial states are drawn from, nor a friction left at 0) to its default times
a factor log-uniform in [1/2, 2], rounded to 3 digits, drawn from a second stream of the seed so
that the cells' other draws are those of the seed without it; ``--few`` records each cell as
2, 3, 4 or 6 trajectories (half of them held out, as by default), drawn from that stream after
the constants, as a lab's few runs; ``--copy-column`` records one column, drawn from a third
stream, a second time in another unit from the same sensor (an exact copy of its noisy values, as
a lab file with an angle in radians and again in degrees: ``deg`` or ``rad`` for an angle,
``0.001*(unit)`` otherwise), and reads the copy as its column when it judges the laws. The draws
come from ``numpy.random.default_rng(--seed)``, so a run is reproducible; Lorenz and three-body (slow, and
covered by the trust table) and the systems added after the recorded seeds (``LEFT_OUT``) are
left out; ``--later`` draws the systems added after the ``--all-systems`` seeds too (``LATER``;
with it a seed's draws are other than without it).

    python benchmarks/bench_trust_random.py [--seed 11] [--cells 30] [--jobs 2] [--max-seconds 60]
                                            [--noise-scale data|trajectory|value] [--all-systems] [--derive]
                                            [--constants] [--few] [--copy-column]
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import warnings

import numpy as np
from bench_trust import derivative_columns, judge, positions_only, print_judged_laws

from conslaw.datasets import SYSTEMS, list_coordinates, make_variant
from conslaw.datasets.specs import Constant
from conslaw.datasets.variants import NOISE_SCALES
from conslaw.dsl.units import parse_unit
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError

LEFT_OUT = ("lorenz", "three-body", "cyclotron", "rotating-trap", "heat-exchange", "pendulum-lengths",
            "henon-heiles", "four-oscillators", "spring-pendulum", "pendulum-cart", "toda-pair",
            "relativistic-oscillator", "van-der-pol", "rotating-hoop")
"""Slow and covered by the trust table; and systems added after the recorded seeds were drawn (one
more system would change every seed's draws)."""
SLOW = ("lorenz", "three-body")
"""Left out with ``--all-systems`` too."""
LATER = ("van-der-pol", "rotating-hoop")
"""Added after the ``--all-systems`` seeds were drawn: left out unless ``--later``."""
RATES = (10.0, 30.0, 100.0)
NOISES = (0.0, 0.005, 0.02)


def draw(rng: np.random.Generator, left_out: tuple = LEFT_OUT) -> tuple[str, dict]:
    """One cell: a system (not one of ``left_out``) and the options of its variant."""
    systems = sorted(name for name in SYSTEMS if name not in left_out)
    system = systems[rng.integers(len(systems))]
    coordinates = list_coordinates(system)
    options = dict(coordinates=coordinates[rng.integers(len(coordinates))],
                   angle_unit=("rad", "deg")[rng.integers(2)], rate=RATES[rng.integers(3)],
                   noise=NOISES[rng.integers(3)], derivatives=("exact", "finite-difference")[rng.integers(2)],
                   seed=int(rng.integers(100)))
    return system, options


FEW = (2, 3, 4, 6)
"""The trajectory counts ``--few`` draws from."""
RANGE_WORDS = ("initial", "drawn", "smallest", "largest")
"""Words of the descriptions of constants that bound the initial states, not the dynamics."""


def physical(constant: Constant) -> bool:
    """Whether ``constant`` is a constant of the dynamics that ``--constants`` may change."""
    return bool(constant.default) and not any(word in constant.description for word in RANGE_WORDS)


def draw_constants(rng: np.random.Generator, system: str) -> dict[str, float]:
    """Each physical constant of ``system`` at its default times a factor in [1/2, 2]."""
    return {c.name: float(f"{c.default * 2.0 ** rng.uniform(-1.0, 1.0):.3g}")
            for c in SYSTEMS[system].constants if physical(c)}


def with_copied_column(dataset, rng: np.random.Generator) -> tuple:
    """``dataset`` with one column, drawn by ``rng``, recorded a second time in another unit from
    the same sensor (an exact copy), and ``{copy: column}``."""
    column = dataset.columns[rng.integers(dataset.n_state)]
    declared = dataset.units[column]
    if parse_unit(declared).dimension.is_angle:
        unit = "rad" if declared == "deg" else "deg"
    else:
        unit = f"0.001*({declared})"
    return dataset.with_repeated_column(column, f"{column}_copy", unit), {f"{column}_copy": column}


def searched_cell(system: str, options: dict, args: argparse.Namespace, directory: str | None,
                  copy_rng: np.random.Generator):
    """The cell's variant, the search of its data and the copied columns (``options`` gains the
    derived columns' names with ``--derive``, the copied column with ``--copy-column``). Raises
    ConslawError for constants the system refuses (a Hénon-Heiles well whose escape energy the
    drawn constants put below its energies) and for data too short to judge."""
    variant = make_variant(system, noise_scale=args.noise_scale, **options)
    constants = {c.name: options[c.name] for c in SYSTEMS[system].constants if c.name in options}
    # the rates found on the cell's own constants: with --constants a momentum is no rate (p = m v)
    derived = derivative_columns(make_variant(system, coordinates=options["coordinates"], **constants).dataset) \
        if args.derive else {}
    if derived:
        options["derived"] = sorted(derived)
    with warnings.catch_warnings():  # coarse-sampling warnings: the judgement is the point here
        warnings.simplefilter("ignore")
        data = positions_only(variant.dataset, derived, directory) if derived else variant.dataset
        copies = {}
        if args.copy_column:
            data, copies = with_copied_column(data, copy_rng)
            (copy, column), = copies.items()
            options["copy"] = f"{column} in {data.units[copy]}"
        search = ConservationSearch(jobs=args.jobs, tailor=False, max_seconds=args.max_seconds).fit(data)
        return variant, search, copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cells", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--noise-scale", choices=NOISE_SCALES, default="data")
    parser.add_argument("--all-systems", action="store_true",
                        help="draw every system but Lorenz and three-body (other draws than the recorded seeds')")
    parser.add_argument("--derive", action="store_true",
                        help="drop the velocity columns and derive them from the positions (--derive)")
    parser.add_argument("--constants", action="store_true",
                        help="draw each physical constant within a factor 2 of its default")
    parser.add_argument("--few", action="store_true", help="record each cell as 2, 3, 4 or 6 trajectories")
    parser.add_argument("--copy-column", action="store_true",
                        help="record one column a second time in another unit from the same sensor")
    parser.add_argument("--later", action="store_true",
                        help=f"with --all-systems, also draw {', '.join(LATER)} (other draws than without it)")
    args = parser.parse_args()
    if args.later and not args.all_systems:
        parser.error("--later draws more systems with --all-systems: give both")
    if args.copy_column and args.derive:
        parser.error("--copy-column copies a recorded column; with --derive a derived one could be drawn: give one")
    rng, constants_rng = np.random.default_rng(args.seed), np.random.default_rng([args.seed, 1])
    copy_rng = np.random.default_rng([args.seed, 2])
    directory = tempfile.mkdtemp(prefix="conslaw-trust-") if args.derive else None  # the written files
    false_laws = over_counted = 0
    for _ in range(args.cells):
        left_out = (SLOW if args.later else SLOW + LATER) if args.all_systems else LEFT_OUT
        system, options = draw(rng, left_out)
        if args.constants:
            options.update(draw_constants(constants_rng, system))
        if args.few:
            options["n_trajectories"] = FEW[constants_rng.integers(len(FEW))]
        started = time.perf_counter()
        try:
            variant, search, copies = searched_cell(system, options, args, directory, copy_rng)
        except ConslawError as error:  # a draw the system refuses, or data too short to judge: no law
            print(f"{system:18s} {json.dumps(options)} refused: {error}", flush=True)
            continue
        row = judge(variant, search, copies)
        false_laws += len(row["false"])
        over_counted += row["independent_true"] > row["expected_independent"]
        print(f"{system:18s} {json.dumps(options)} {time.perf_counter() - started:5.1f} s  accepted "
              f"{row['accepted']}  false {len(row['false'])}  independent true "
              f"{row['independent_true']}/{row['expected_independent']}  rank 1: {(row['rank1'] or '-')[:60]}",
              flush=True)
        print_judged_laws(row)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"{args.cells} cells: {false_laws} false laws; {over_counted} cells with more independent laws than exist"
          " (refused cells count as none)")


if __name__ == "__main__":
    main()
