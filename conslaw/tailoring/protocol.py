"""The tailoring stage's options: every knob of the ranker and the evaluation, each default once.

Defaults follow the paper where it says (top 20 meta-tailored candidates, one inner step, the
inner learning-rate sweep) and the HNN baseline's published training recipe for the MLP; every
other choice and its reason is in docs/protocol.md. This module imports no torch, so the command
line can build its options without loading it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import numpy as np

from conslaw.options import check_types, optional_number, option, parse_list, require

DEFAULT_INNER_LRS: tuple[float, ...] = (0.0,) + tuple(float(10.0 ** k) for k in np.arange(-3.0, 1.01, 0.5))
LOSS_FORMS = ("forward", "central", "analytic")
INTEGRATORS = ("euler", "midpoint", "rk4")
POOLS = ("ranked", "accepted")
RECORDING_PROTOCOLS = ("split", "hnn")
DTYPES = ("float32", "float64")
LAW_SCALES = ("as-found", "spread")
STANDARDIZE = ("auto", "on", "off")
HNN_TRAIN_FRACTION = 0.8  # greydanus/hamiltonian-nn experiment-real/data.py: test_split=0.8 (the training share)
LARGE_INPUT = 30.0
"""With ``--standardize auto`` the models see the columns as they are, as the HNN paper's
protocol does, while every column's and every rate's root mean square on the training states is
within ``1/LARGE_INPUT``-``LARGE_INPUT`` (coherent SI; every built-in system but Lorenz), and
standardized columns otherwise: a tanh network is made for inputs about 1 (a pendulum filmed in
pixels, as it is: a vanilla rollout error of 604 px against the HNN's 279)."""


_number_or_auto = partial(optional_number, absent=("", "none", "auto"))
"""An option that is a number, or ``auto`` (also ``none`` or empty) for its computed default."""


@dataclass(frozen=True)
class TailoringConfig:
    """How candidate laws are ranked as Noether losses and how the winner is evaluated."""

    tailor: bool = option(True, "Skip the tailoring stage (discovery only).", negate=True)
    pool: str = option("ranked", "Stage-1 candidates: the top of discovery's ranking, accepted or "
                       "not, as in the paper (ranked), or the accepted laws only.", choices=POOLS,
                       flag="--tailor-pool")
    pool_size: int = option(200, "At most this many candidates from the top of the ranking enter "
                            "stage 1.", flag="--tailor-pool-size")
    top: int = option(20, "Candidates meta-tailored in stage 2 (the best by stage-1 training RMSE).")
    inner_lrs: tuple[float, ...] = option(DEFAULT_INNER_LRS, "Inner learning rates swept per "
                                          "candidate (0, no tailoring, is always included).",
                                          parse=partial(parse_list, item=float, name="--inner-lrs"),
                                          metavar="LRS")
    inner_steps: int = option(1, "Inner gradient steps of the Noether loss at prediction time.")
    law_scale: str = option("as-found", "Each law in the Noether loss as discovery wrote it (the "
                            "paper: the inner lrs act on its own scale), or divided by its spread "
                            "on the ranking seed's training states (an inner lr means the same step "
                            "for every law).", choices=LAW_SCALES)
    meta_epochs: int = option(100, "Meta-training epochs of stage 2 (full-batch Adam).")
    outer_lr: float = option(1e-4, "Meta-training learning rate.")
    outer_weight_decay: float = option(1e-4, "Meta-training weight decay.")
    loss_form: str = option("central", "How the Noether loss compares the law along a step: finite "
                            "differences forward or central, or its analytic time derivative.",
                            choices=LOSS_FORMS)
    loss_dt: Optional[float] = option(None, "Time step of the Noether loss in seconds (default: "
                                      "the data's).", parse=partial(_number_or_auto, name="--loss-dt"))
    integrator: str = option("rk4", "Integrator of every rollout.", choices=INTEGRATORS)
    blowup: float = option(1e3, "A rollout whose RMSE passes this many times the data's spread "
                           "counts as diverged.")
    candidate_chunk: int = option(8, "Candidates tailored (stage 1) or meta-tailored (stage 2) "
                                  "together in one vectorized batch.", neutral=True)
    combine: bool = option(False, "Also evaluate one Noether loss built from all independent "
                           "accepted laws at once (each normalised), against the selected law.")
    standardize: str = option("auto", "What the MLP and HNN see: each column as it is, as the HNN "
                              "paper's protocol (off); centred and divided by its spread, the outputs "
                              "in the rates' size (on); on only when a column or its rate is far from 1 "
                              "in size, beyond 1/30-30 in coherent SI (auto).", choices=STANDARDIZE)
    hnn: bool = option(True, "Do not train and evaluate the HNN baseline.", negate=True)
    seeds: int = option(5, "Seeds of the evaluation: a simulated system is drawn anew for each (data "
                        "and model init); recorded data keep their split and vary the init only.")
    ranking_seed: int = option(0, "The seed whose training data rank the candidates (stages 1 "
                               "and 2); below --seeds.")
    recording_protocol: str = option("split", "The data set's own train/test trajectories, or the "
                                     "HNN paper's protocol for one recording (forward-difference "
                                     "targets, the contiguous 80/20 split).",
                                     choices=RECORDING_PROTOCOLS)
    hidden: int = option(200, "Hidden units of the MLP and HNN (HNN paper: 200).")
    train_steps: int = option(2001, "Training steps of the MLP and HNN (HNN paper: 2001).")
    train_lr: float = option(1e-3, "Training learning rate (HNN paper: 1e-3).")
    train_weight_decay: float = option(1e-4, "Training weight decay (HNN paper: 1e-4).")
    dtype: str = option("float32", "Floating-point type of tailoring and rollouts.", choices=DTYPES)
    threads: int = option(0, "Torch threads (0: every usable core).", neutral=True)
    tailor_max_memory_gb: Optional[float] = option(
        None, "Refuse to tailor when the estimated peak memory passes this many GB (default: the "
        "memory available when the search starts).",
        parse=partial(_number_or_auto, name="--tailor-max-memory-gb"), neutral=True)
    tailor_max_minutes: Optional[float] = option(
        60.0, "Refuse to tailor when the MLP and HNN baselines' training, or it and the meta-tailoring, "
        "is estimated to take longer than this many minutes on this machine's cores ('none': no limit).",
        parse=partial(optional_number, name="--tailor-max-minutes"), neutral=True)

    def __post_init__(self) -> None:
        check_types(self)
        require(self.pool in POOLS, self, "pool", f"must be one of {', '.join(POOLS)}")
        require(self.pool_size >= 1, self, "pool_size", "must be at least 1")
        require(self.top >= 1, self, "top", "must be at least 1")
        lrs = tuple(sorted({0.0, *(float(lr) for lr in self.inner_lrs)}))
        require(all(np.isfinite(lr) and lr >= 0 for lr in lrs), self, "inner_lrs",
                "must be finite and >= 0")
        object.__setattr__(self, "inner_lrs", lrs)
        require(self.inner_steps >= 1, self, "inner_steps", "must be at least 1")
        require(self.meta_epochs >= 0, self, "meta_epochs", "must be >= 0")
        require(self.loss_form in LOSS_FORMS, self, "loss_form", f"must be one of {', '.join(LOSS_FORMS)}")
        require(self.loss_dt is None or self.loss_dt > 0, self, "loss_dt", "must be > 0")
        require(self.integrator in INTEGRATORS, self, "integrator",
                f"must be one of {', '.join(INTEGRATORS)}")
        require(self.blowup > 1, self, "blowup", "must be > 1")
        require(self.candidate_chunk >= 1, self, "candidate_chunk", "must be at least 1")
        require(self.seeds >= 1, self, "seeds", "must be at least 1")
        require(0 <= self.ranking_seed < self.seeds, self, "ranking_seed",
                f"must be between 0 and --seeds - 1 = {self.seeds - 1}")
        require(self.recording_protocol in RECORDING_PROTOCOLS, self, "recording_protocol",
                f"must be one of {', '.join(RECORDING_PROTOCOLS)}")
        for name in ("outer_lr", "train_lr"):
            require(getattr(self, name) > 0, self, name, "must be > 0")
        for name in ("outer_weight_decay", "train_weight_decay"):
            require(getattr(self, name) >= 0, self, name, "must be >= 0")
        require(self.hidden >= 1, self, "hidden", "must be at least 1")
        require(self.train_steps >= 1, self, "train_steps", "must be at least 1")
        require(self.dtype in DTYPES, self, "dtype", f"must be one of {', '.join(DTYPES)}")
        require(self.threads >= 0, self, "threads", "must be >= 0")
        require(self.tailor_max_memory_gb is None or self.tailor_max_memory_gb > 0, self,
                "tailor_max_memory_gb", "must be > 0")
        require(self.tailor_max_minutes is None or self.tailor_max_minutes > 0, self,
                "tailor_max_minutes", "must be > 0")
