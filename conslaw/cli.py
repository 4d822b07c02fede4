"""The ``conslaw`` command line: a thin layer over ``conslaw.engine.ConservationSearch``.

Every option of ``conslaw search`` is generated from the fields of ``conslaw.config.SearchConfig``
(flag, help, choices and default are read from there, never written here).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from typing import Any, Callable

import click

from conslaw.errors import ConslawError
from conslaw.options import flag_of


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning as one line, ``warning: ...`` (with its file and line under --debug)."""
    click.echo(f"warning: {message}", err=True)


class ConslawGroup(click.Group):
    """Turns ``ConslawError`` into a one-line message and its exit code (``--debug`` re-raises),
    and Python warnings into one-line ones."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """click's own usage errors (an unknown option or command, a value of the wrong type) as
        one line too, ``error: ...`` naming the help that lists what is valid, exit code 2; click
        prints them as three lines, its usage first."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "conslaw"
            click.echo(f"error: {exc.format_message()} ('{command} --help' lists what is valid)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():  # restores the warning hook when the command ends
                if not ctx.params.get("debug"):
                    warnings.showwarning = _one_line_warning
                return super().invoke(ctx)
        except ConslawError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is checkpointed; continue with --resume DIR", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected failure still gets one line without --debug
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
            sys.exit(1)


@click.group(cls=ConslawGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="conslaw")
def main(debug: bool) -> None:
    """Discover conservation laws in trajectory data and use them as Noether losses."""
    # torch's OpenMP threads spin while they wait for work. Beside another busy process on the
    # same cores (a second search, a test run) that made the tailoring's small-tensor stages 27x
    # slower; sleeping threads cost them 6 % alone. torch is imported later, so this applies.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _default_text(field: dataclasses.Field) -> str:
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = field.default_factory()  # type: ignore[misc]
    else:
        value = field.default
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def config_option(field: dataclasses.Field) -> Callable:
    """A click option generated from one configuration field (no default of its own: only the
    values a user gives are applied, so the dataclass default stays the only one)."""
    meta = field.metadata
    help_text = meta["help"]
    flag = flag_of(field)
    default = field.default
    if isinstance(default, bool):
        return click.option(flag, field.name, is_flag=True, default=None, help=help_text,
                            flag_value=not meta.get("negate"))
    if meta.get("repeatable"):
        return click.option(flag, field.name, multiple=True, metavar=meta.get("metavar"), help=help_text)
    kind: Any = click.Choice(meta["choices"]) if meta.get("choices") else None
    if kind is None and meta.get("parse") is None and isinstance(default, (int, float)):
        kind = type(default)
    return click.option(flag, field.name, type=kind, default=None, metavar=meta.get("metavar"),
                        help=f"{help_text}  [default: {_default_text(field)}]")


def _search_options(function: Callable) -> Callable:
    from conslaw.config import SearchConfig

    for _, (_, field) in reversed(list(SearchConfig.options().items())):
        if field.metadata.get("cli", True):
            function = config_option(field)(function)
    return function


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line, parsed by their fields' parsers."""
    from conslaw.config import SearchConfig

    index = SearchConfig.options()
    given = {}
    for name, value in values.items():
        if value is None or (name == "options" and not value):
            continue
        parse = index[name][1].metadata.get("parse")
        given[name] = parse(value) if parse is not None and isinstance(value, str) else value
    return given


@main.command("search")
@_search_options
def search_command(**values: Any) -> None:
    """Discover conserved quantities and rank them as Noether losses; writes a run directory."""
    from conslaw.report.runs import run_search

    run_search(_given(values), echo=click.echo)


@main.command("enumerate")
@click.option("--units", "units_spec", required=True, help='Input columns and their units, e.g. "q=rad,p=kg*m**2/s".')
@click.option("--depth", type=int, default=None, help="Maximum number of nodes in a formula.  [default: the search's]")
@click.option("--operators", default=None, help="Operators: a list replaces the set, +op adds to it.  [default: the search's]")
@click.option("--count", "count_only", is_flag=True, help="Print only the total.")
def enumerate_command(units_spec: str, depth: int | None, operators: str | None, count_only: bool) -> None:
    """List every dimensionally valid formula up to DEPTH nodes, one per line."""
    from conslaw.report.runs import enumerate_formulas_text

    click.echo(enumerate_formulas_text(units_spec, depth, operators, count_only), nl=False)


@main.command("datasets")
@click.argument("name", required=False)
def datasets_command(name: str | None) -> None:
    """List the built-in data sets, or one's columns, coordinates and options."""
    from conslaw.report.catalog import datasets_text

    click.echo(datasets_text(name), nl=False)


@main.command("export")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--format", "fmt", required=True, help="latex, sympy, python, torch or json.")
@click.option("--top", default=None, type=int, help="Only the N best candidates, accepted or not.")
@click.option("--units", "units", type=click.Choice(["declared", "si"]), default="declared",
              show_default=True, help="Columns in the units the data were declared in, or in SI.")
def export_command(run: str, fmt: str, top: int | None, units: str) -> None:
    """Print a run's laws as LaTeX, SymPy, Python (numpy), torch or JSON."""
    from conslaw.engine import ConservationSearch
    from conslaw.report.export import export_laws

    click.echo(export_laws(ConservationSearch.from_run(run), fmt, top, units), nl=False)


@main.command("plot")
@click.argument("run", type=click.Path(file_okay=False))
def plot_command(run: str) -> None:
    """(Re)draw a run's figures into RUN/plots/."""
    from conslaw.report.runs import replot

    for path in replot(run):
        click.echo(path)
