"""The README's Python examples run as written (each block in order, in one namespace)."""
import json
import math
import re
import shlex
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from conslaw.cli import main
from conslaw.datasets import load_dataset
from conslaw.discovery.independence import functionally_dependent
from conslaw.engine import ConservationSearch

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples_and_they_run():
    blocks = python_blocks()
    assert blocks, "the README shows no Python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README


CLAIM = re.compile(r"^(conslaw search .*?)\s+# rank 1: (.+?), (exact|approximate), the only independent law$", re.M)


def claims() -> list[tuple[str, str, str]]:
    return CLAIM.findall(README.read_text())


def same_law(found: str, claimed: str, rel: float = 5e-3) -> bool:
    """Whether two laws have the same terms and, scaled alike, coefficients within ``rel`` (the
    README rounds its coefficients)."""
    found_terms, claimed_terms = (sympy.expand(sympy.sympify(text)).as_coefficients_dict() for text in (found, claimed))
    if set(found_terms) != set(claimed_terms):
        return False
    reference = next(iter(claimed_terms))
    scale = found_terms[reference] / claimed_terms[reference]
    return all(abs(found_terms[t] / scale - claimed_terms[t]) <= rel * abs(claimed_terms[t]) for t in claimed_terms)


def test_readme_claims_name_the_papers_systems():
    assert [command.split()[3] for command, _, _ in claims()] == ["pendulum", "spring", "real-pendulum"]


@pytest.mark.parametrize("command, law, quality", claims(), ids=lambda value: str(value)[:40])
def test_each_command_the_readme_prints_finds_the_law_it_claims(command, law, quality, tmp_path, request,
                                                                monkeypatch):
    if "real-pendulum" in command:
        monkeypatch.setenv("CONSLAW_DATA_DIR", request.getfixturevalue("data_directory"))
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--out", str(run), "--quiet", "--no-plots"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    laws = ConservationSearch.from_run(run).laws_
    top = laws[0]
    assert same_law(str(top.expression), law), f"{command}: rank 1 is {top.expression}, the README says {law}"
    assert top.accepted and top.quality == quality
    assert [law.rank for law in laws if law.independent] == [1]
    # no law is accepted without a judged control (the real pendulum once had one with inf)
    assert all(math.isfinite(law.evidence.ratio_control) for law in laws if law.accepted)


KNOWN = re.compile(r"^(conslaw search .*?)\s+# known laws: (\d+) of (\d+) reached, (\d+) independent$", re.M)


def known_claims() -> list[tuple[str, str, str, str]]:
    return KNOWN.findall(README.read_text())


def test_readme_claims_known_laws_of_systems_beyond_the_paper():
    assert [command.split()[3] for command, *_ in known_claims()] == ["kepler", "predator-prey", "three-body"]


@pytest.mark.parametrize("command, reached, known, independent", known_claims(), ids=lambda value: str(value)[:40])
def test_each_known_law_claim_is_what_the_command_reports(command, reached, known, independent, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--out", str(run), "--quiet", "--no-plots"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    stored = json.loads((run / "result.json").read_text())
    entries = stored["known_laws"]
    assert (sum(entry["found"] for entry in entries), len(entries)) == (int(reached), int(known))
    assert len(stored["independent"]) == int(independent)
    # and no accepted law is false: each is a function of the system's true laws
    dataset = load_dataset(command.split()[3])
    states = dataset.stacked("train")[::50]
    truths = [sympy.sympify(entry["law"], locals={c: sympy.Symbol(c, real=True) for c in dataset.columns})
              for entry in entries]
    laws = ConservationSearch.from_run(run).accepted_laws_
    assert laws and all(functionally_dependent(law.expression, truths, dataset.columns, states) for law in laws)
