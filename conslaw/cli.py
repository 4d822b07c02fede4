"""The ``conslaw`` command line: a thin click layer over the Python API."""
from __future__ import annotations

import sys
import time

import click

from conslaw.errors import ConslawError


class ConslawGroup(click.Group):
    """Turns ``ConslawError`` into a one-line message and its exit code (``--debug`` re-raises)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConslawError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=ConslawGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="conslaw")
def main(debug: bool) -> None:
    """Discover conservation laws in trajectory data and use them as Noether losses."""


@main.command("enumerate")
@click.option("--units", "units_spec", required=True,
              help='Input columns and their units, e.g. "q=rad,p=kg*m**2/s".')
@click.option("--depth", default=7, show_default=True, type=int,
              help="Maximum number of nodes in a formula.")
@click.option("--operators", default=None,
              help="Comma-separated operators (default: the paper's + - * / sin cos square).")
@click.option("--count", "count_only", is_flag=True, help="Print only the total.")
def enumerate_command(units_spec: str, depth: int, operators: str | None, count_only: bool) -> None:
    """List every dimensionally valid formula up to DEPTH nodes, one per line."""
    from conslaw.dsl import PAPER_OPERATORS, enumerate_formulas, parse_units_spec

    units = parse_units_spec(units_spec)
    chosen = PAPER_OPERATORS if operators is None else [o.strip() for o in operators.split(",")]
    start = time.perf_counter()
    space = enumerate_formulas(list(units), [u.dimension for u in units.values()], depth,
                               operators=chosen)
    if count_only:
        click.echo(len(space))
    else:
        click.echo("\n".join(space.table.to_text(root) for root in space.roots))
    summary = space.summary()
    per_size = ", ".join(f"{s}: {n}" for s, n in summary["formulas_by_size"].items())
    click.echo(f"# {len(space)} formulas up to {depth} nodes ({per_size}) "
               f"in {time.perf_counter() - start:.2f} s", err=True)
