"""The ``conslaw`` command line: a thin click layer over the Python API."""
from __future__ import annotations

import sys
import time

import click

from conslaw.dsl.operators import PAPER_OPERATORS
from conslaw.errors import ConslawError, UsageError


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
        except KeyboardInterrupt:
            click.echo("interrupted: finished stages are checkpointed; continue with --resume DIR",
                       err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected failure still gets one line without --debug
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                       err=True)
            sys.exit(1)


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
    from conslaw.dsl import enumerate_formulas, parse_units_spec

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


def _float_list(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--inner-lrs must be comma-separated numbers, got {text!r}") from None


def _key_values(items: tuple[str, ...]) -> dict:
    options = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--option {item!r} is not of the form KEY=VALUE")
        key, value = item.split("=", 1)
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@main.command("search")
@click.option("--dataset", help="A built-in data set (pendulum, spring, real-pendulum, ...).")
@click.option("--data", type=click.Path(dir_okay=False), help="A CSV or NPZ file in long format.")
@click.option("--units", "units_spec", help='State columns and units, e.g. "q=rad,p=kg*m**2/s".')
@click.option("--trajectory-column", default="trajectory", show_default=True)
@click.option("--time-column", default="t", show_default=True)
@click.option("--data-dir", help="Directory of the Schmidt & Lipson files (or CONSLAW_DATA_DIR).")
@click.option("--option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="A built-in system's option (e.g. anisotropic=true); repeatable.")
@click.option("--noise", default=0.0, show_default=True, type=float,
              help="Gaussian noise added to simulated states.")
@click.option("--depth", default=7, show_default=True, type=int, help="Maximum formula size (nodes).")
@click.option("--operators", default=None, help="Comma-separated DSL operators.")
@click.option("--threshold", default=100.0, show_default=True, type=float,
              help="Accept when conserved this many times better than on random data.")
@click.option("--window", default=25, show_default=True, type=int,
              help="Samples per window when long recordings are cut.")
@click.option("--mode", type=click.Choice(["formulas", "terms", "both"]), default="both",
              show_default=True, help="Whole-formula search, multi-term search, or both.")
@click.option("--term-depth", default=3, show_default=True, type=int)
@click.option("--max-factors", default=2, show_default=True, type=int)
@click.option("--no-tailor", is_flag=True, help="Stop after discovery.")
@click.option("--top", default=20, show_default=True, type=int)
@click.option("--inner-lrs", default=None, help="Comma-separated inner learning rates.")
@click.option("--meta-epochs", default=100, show_default=True, type=int)
@click.option("--loss-form", type=click.Choice(["forward", "central", "analytic"]),
              default="central", show_default=True)
@click.option("--seeds", default=5, show_default=True, type=int)
@click.option("--canonical", default=None, help='Conjugate pairs, e.g. "q:p,x:px".')
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--jobs", default=1, show_default=True, type=int)
@click.option("--backend", type=click.Choice(["loky", "threading", "sequential", "dask"]),
              default="loky", show_default=True)
@click.option("--scheduler", default=None, help="dask scheduler address (tcp://host:8786).")
@click.option("--out", default=None, help="Run directory (default runs/<dataset>-<time>).")
@click.option("--resume", default=None, help="Finish an interrupted run in this directory.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run once the new one finishes.")
@click.option("--no-plots", is_flag=True)
@click.option("--quiet", is_flag=True)
@click.option("--log-level", default="INFO", show_default=True)
def search_command(**kwargs) -> None:
    """Discover conserved quantities and rank them as Noether losses."""
    from conslaw.pipeline import SearchOptions, run_search

    options = SearchOptions(
        dataset=kwargs["dataset"], data=kwargs["data"], units=kwargs["units_spec"],
        trajectory_column=kwargs["trajectory_column"], time_column=kwargs["time_column"],
        data_dir=kwargs["data_dir"], dataset_options=_key_values(kwargs["dataset_options"]),
        noise=kwargs["noise"], depth=kwargs["depth"],
        operators=(tuple(o.strip() for o in kwargs["operators"].split(","))
                   if kwargs["operators"] else PAPER_OPERATORS),
        threshold=kwargs["threshold"], window=kwargs["window"], mode=kwargs["mode"],
        term_depth=kwargs["term_depth"], max_factors=kwargs["max_factors"],
        tailor=not kwargs["no_tailor"], top=kwargs["top"],
        inner_lrs=_float_list(kwargs["inner_lrs"]), meta_epochs=kwargs["meta_epochs"],
        loss_form=kwargs["loss_form"], seeds=kwargs["seeds"], canonical=kwargs["canonical"],
        seed=kwargs["seed"], jobs=kwargs["jobs"], backend=kwargs["backend"],
        scheduler=kwargs["scheduler"], out=kwargs["out"], resume=kwargs["resume"],
        overwrite=kwargs["overwrite"], plots=not kwargs["no_plots"], quiet=kwargs["quiet"],
        log_level=kwargs["log_level"])
    run_search(options, echo=click.echo)


@main.command("export")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--format", "fmt", required=True, help="latex, sympy, python, torch or json.")
@click.option("--top", default=None, type=int, help="Only the N best laws.")
def export_command(run: str, fmt: str, top: int | None) -> None:
    """Print a run's laws as LaTeX, SymPy, Python, torch or JSON."""
    from conslaw.report import export_laws, load_result

    click.echo(export_laws(load_result(run), fmt, top))


@main.command("plot")
@click.argument("run", type=click.Path(file_okay=False))
def plot_command(run: str) -> None:
    """(Re)draw a run's figures into RUN/plots/."""
    from conslaw.pipeline import SearchOptions, load_search_dataset
    from conslaw.report import load_result, read_rollouts
    from conslaw.report.plots import make_plots

    result = load_result(run)
    dataset = load_search_dataset(SearchOptions.from_config(result["config"]))
    for path in make_plots(run, result, dataset, read_rollouts(run)):
        click.echo(path)
