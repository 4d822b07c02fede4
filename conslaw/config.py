"""One configuration for a whole search: each stage's options, nested, each default written once.

``SearchConfig`` nests the stage configurations (data, enumeration, discovery, multi-term search,
tailoring, parallel execution, the run itself). Every option has a unique name across the
sections, which is also its command-line flag, so ``SearchConfig().with_options(depth=5)`` and
``conslaw search --depth 5`` mean the same. ``config.json`` stores ``to_dict()``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from conslaw.datasets.source import DataConfig
from conslaw.discovery.conservation import DiscoveryConfig
from conslaw.dsl.budget import EnumerationConfig
from conslaw.errors import UsageError
from conslaw.options import check_types, flag_of, option, require
from conslaw.parallel import ParallelConfig
from conslaw.tailoring.protocol import TailoringConfig
from conslaw.terms.term_config import TermsConfig

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class RunConfig:
    """The run itself: its seed, where it is written, and how it is shown."""

    seed: int = option(0, "Seed of the simulated data and split, the null's surrogates and the "
                       "ranking models.")
    canonical: Optional[str] = option(None, 'Conjugate pairs "q:p,x:px": each law\'s symmetry '
                                      "generator and the Poisson brackets are reported, and the HNN "
                                      "baseline takes them as its coordinates and momenta (default: "
                                      "the first half of the columns and the second).",
                                      metavar="PAIRS")
    out: Optional[str] = option(None, "Run directory (default runs/<data>-<time>).", metavar="DIR",
                                neutral=True)
    resume: Optional[str] = option(None, "Finish an interrupted run in DIR (its options are kept).",
                                   metavar="DIR", neutral=True)
    overwrite: bool = option(False, "Replace an existing run in --out once the new one has finished.",
                             neutral=True)
    model_cache: Optional[str] = option(None, "Directory where the trained MLP and HNN baselines are "
                                        "kept for later runs (default: the run's own checkpoints); "
                                        "a search of the same data with the same recipe then skips "
                                        "their training.", metavar="DIR", neutral=True)
    plots: bool = option(True, "Do not draw the figures.", flag="--no-plots", negate=True,
                         neutral=True)
    quiet: bool = option(False, "Hide progress bars and the summary table's extras (the result "
                         "table is still printed).", neutral=True)
    log_level: str = option("INFO", "Level of the run's log file.", choices=LOG_LEVELS, neutral=True)

    def __post_init__(self) -> None:
        check_types(self)
        require(0 <= self.seed < 2 ** 32, self, "seed", "must be between 0 and 2**32 - 1 (numpy's seeds)")
        require(not (self.resume and self.overwrite), self, "overwrite",
                "excludes --resume (resume keeps the run, overwrite replaces it)")


SECTIONS = {"data": DataConfig, "enumeration": EnumerationConfig, "discovery": DiscoveryConfig,
            "terms": TermsConfig, "tailoring": TailoringConfig, "parallel": ParallelConfig,
            "run": RunConfig}


def _section(name: str):
    return field(default_factory=SECTIONS[name]) if name != "data" else field(default=None)


@dataclass(frozen=True)
class SearchConfig:
    """Every option of a search (``data`` may be None for the Python API, which takes arrays)."""

    data: Optional[DataConfig] = _section("data")
    enumeration: EnumerationConfig = _section("enumeration")
    discovery: DiscoveryConfig = _section("discovery")
    terms: TermsConfig = _section("terms")
    tailoring: TailoringConfig = _section("tailoring")
    parallel: ParallelConfig = _section("parallel")
    run: RunConfig = _section("run")

    @staticmethod
    def options() -> dict[str, tuple[str, dataclasses.Field]]:
        """Every option's name -> (section, field); names are unique across sections."""
        index: dict[str, tuple[str, dataclasses.Field]] = {}
        for section, kind in SECTIONS.items():
            for item in dataclasses.fields(kind):
                if item.name in index:
                    raise TypeError(f"option {item.name!r} is declared in two sections")
                index[item.name] = (section, item)
        return index

    def with_options(self, **values: Any) -> "SearchConfig":
        """A copy with options replaced by name (``depth=5``); an unknown name is a UsageError."""
        index = self.options()
        changes: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            if name not in index:
                raise UsageError(f"unknown option {name!r}")
            changes.setdefault(index[name][0], {})[name] = value
        updated = {}
        for section, fields in changes.items():
            current = getattr(self, section)
            updated[section] = SECTIONS[section](**fields) if current is None \
                else dataclasses.replace(current, **fields)
        config = dataclasses.replace(self, **updated)
        config.refuse_inert(values)
        return config

    def refuse_inert(self, given: Mapping[str, Any]) -> None:
        """A UsageError for a given option that this configuration never reads (``--seeds`` with
        ``--no-tailor``, a multi-term option with ``--mode formulas``, ``--depth`` with ``--mode
        terms``): used or refused."""
        index = self.options()
        inert = []
        if not self.tailoring.tailor:
            inert.append(({n for n, (section, _) in index.items() if section == "tailoring"} - {"tailor"}
                          | {"model_cache"}, "--no-tailor"))
        if self.discovery.mode == "formulas":
            inert.append(({n for n, (section, _) in index.items() if section == "terms"}, "--mode formulas"))
        if self.discovery.mode == "terms":  # the multi-term search reads the operators alone; no unit check
            inert.append(({n for n, (section, _) in index.items() if section == "enumeration"} - {"operators"}
                          | {"unit_check"}, "--mode terms"))
        for names, reason in inert:
            for name in given:
                if name in names:
                    raise UsageError(f"{flag_of(index[name][1])} has no effect with {reason}; drop one of them")

    def to_dict(self) -> dict:
        return {name: (dataclasses.asdict(getattr(self, name)) if getattr(self, name) is not None else None)
                for name in SECTIONS}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "SearchConfig":
        """A configuration back from ``to_dict()`` (lists become the tuples the fields hold)."""
        sections = {}
        for name, kind in SECTIONS.items():
            values = stored.get(name)
            if values is None:
                continue
            known = {f.name: f for f in dataclasses.fields(kind)}
            sections[name] = kind(**{key: tuple(value) if isinstance(value, list) else value
                                     for key, value in values.items() if key in known})
        return cls(**sections)

    def differences(self, other: "SearchConfig") -> list[str]:
        """Flags of the options (not neutral ones) whose values differ from ``other``'s."""
        mine, theirs = self.to_dict(), other.to_dict()
        changed = []
        for name, (section, item) in self.options().items():
            if item.metadata.get("neutral"):
                continue
            if (mine.get(section) or {}).get(name) != (theirs.get(section) or {}).get(name):
                changed.append(flag_of(item))
        return changed
