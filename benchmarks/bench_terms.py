"""Benchmark of the multi-term search (issue 9): laws found, coefficient errors, library size, time.

Run: ``python benchmarks/bench_terms.py [--quick]``. Each system is run noiseless and with 1 %
relative noise (``noise=0.01, relative_noise=True``), seed 0, default options. ``--quick`` runs
the noiseless double pendulum only.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import sympy

from conslaw.datasets import load_dataset
from conslaw.terms import find_multiterm_laws

CASES = [
    ("oscillator2d", {}),
    ("oscillator2d", {"anisotropic": True}),
    ("coupled-springs", {}),
    ("double-pendulum", {}),
]


def coefficients(expression: str, columns) -> dict:
    symbols = {c: sympy.Symbol(c) for c in columns}
    expanded = sympy.expand(sympy.sympify(expression, locals=symbols))
    return {term: float(value) for term, value in expanded.as_coefficients_dict().items()
            if term != 1}


def coefficient_errors(candidate: str, truth: str, columns) -> dict | None:
    """Relative error of each coefficient, both laws scaled to agree on the truth's largest term;
    None when the two laws do not have the same terms."""
    found, true = coefficients(candidate, columns), coefficients(truth, columns)
    if set(found) != set(true):
        return None
    reference = max(true, key=lambda t: abs(true[t]))
    scale = found[reference] / true[reference]
    return {str(t): abs(found[t] / scale / true[t] - 1) for t in true}


def law_values(expression: str, columns, states: np.ndarray) -> np.ndarray:
    symbols = sympy.symbols(columns)
    function = sympy.lambdify(symbols, sympy.sympify(expression, locals=dict(zip(columns, symbols))))
    return np.broadcast_to(np.asarray(function(*states.T), dtype=float), (len(states),))


def in_span(expression: str, laws: list[str], columns, states: np.ndarray) -> float:
    """Relative residual of a law's centred values after least squares on the laws' values."""
    target = law_values(expression, columns, states)
    target = target - target.mean()
    basis = np.column_stack([law_values(law, columns, states) for law in laws])
    basis = basis - basis.mean(axis=0)
    solution, *_ = np.linalg.lstsq(basis, target, rcond=None)
    return float(np.linalg.norm(target - basis @ solution) / np.linalg.norm(target))


def run(name: str, options: dict, noise: float) -> dict:
    extra = {"relative_noise": True} if noise else {}
    dataset = load_dataset(name, noise=noise, **options, **extra)
    start = time.perf_counter()
    result = find_multiterm_laws(dataset)
    seconds = time.perf_counter() - start
    accepted = result.accepted
    states = dataset.stacked("test")
    label = name + (" anisotropic" if options.get("anisotropic") else "") + (f" noise={noise:g}" if noise else "")
    print(f"\n== {label}: {seconds:.2f} s, library {result.library['counts']}, removed {result.library['removed']}")
    print("   timings " + ", ".join(f"{k}={v:.2f}" for k, v in result.timings.items()))
    print(f"   dense: best ratio {result.counts['dense_best_ratio']:.2e}, candidates "
          f"{result.counts['dense_candidates']}, accepted as dense laws {result.counts['dense_accepted']}")
    for c in accepted:
        flag = "independent" if c["independent"] else "dependent"
        print(f"   #{c['rank']} [{flag}] {c['expression']}  (train {c['conservation']['true']:.2e}, "
              f"test {c['conservation']['test']:.2e}, random {c['conservation']['random']:.2e})")
    laws = dict(zip(dataset.metadata["true_law_names"], dataset.true_laws))
    for law_name, truth in laws.items():
        match = [(c["rank"], coefficient_errors(c["expression"], truth, dataset.columns)) for c in accepted]
        match = [(rank, errors) for rank, errors in match if errors is not None]
        residual = in_span(truth, [c["expression"] for c in accepted], dataset.columns, states) \
            if accepted else 1.0
        if match:
            rank, errors = match[0]
            worst = max(errors.values())
            print(f"   {law_name}: found as #{rank}, worst coefficient error {100 * worst:.3f} % "
                  + ", ".join(f"{t}: {100 * e:.3f} %" for t, e in errors.items()))
        else:
            print(f"   {law_name}: not one accepted law; residual outside the accepted span {residual:.1e}")
    print(f"   accepted {len(accepted)}, independent {len(result.independent)} "
          f"(true independent count {dataset.metadata['n_independent_laws']})")
    return {"seconds": seconds, "accepted": len(accepted), "independent": len(result.independent)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases = [("double-pendulum", {})] if args.quick else CASES
    for noise in (0.0,) if args.quick else (0.0, 0.01):
        for name, options in cases:
            run(name, options, noise)


if __name__ == "__main__":
    main()
