"""Shared fixtures (the Schmidt & Lipson recording, when the data directory is available) and the
suite's set-up: the package byte-compiled once, the cores shared among the xdist workers."""
import compileall
import os
from pathlib import Path

import joblib
import pytest
import threadpoolctl

import conslaw
from conslaw.datasets import load_dataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config):
    """Byte-compile conslaw once, in the controlling process. Where PYTHONDONTWRITEBYTECODE is set
    (the CI sandbox sets it) every process the suite starts (xdist, loky and dask workers) would
    otherwise compile the package's modules again: 4.1-4.7 s to import it against 3.1 s with
    them compiled. ``compileall`` writes whatever that variable says. In each xdist worker,
    share the cores (``_share_the_cores``)."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(str(Path(conslaw.__file__).parent), quiet=1)
    else:
        _share_the_cores(int(config.workerinput["workercount"]))


def _share_the_cores(workers: int) -> None:
    """Give each of the suite's ``workers`` xdist processes its share of the cores. A search's
    default jobs (and tailoring's threads) are every usable core (``joblib.cpu_count()``, which
    reads ``LOKY_MAX_CPU_COUNT``); on 2 cores under 2 xdist workers each test that kept the
    default started a pool of loky workers, and the suite took 424 s (789 s of CPU) against
    306 s (572 s) with one core each. BLAS and OpenMP threads likewise (numpy's BLAS is loaded
    already, so it is limited through threadpoolctl; torch reads the variable when imported):
    279 s (521 s). Tests of the pools ask for their jobs explicitly."""
    share = str(max(1, joblib.cpu_count() // max(workers, 1)))
    for variable in ("LOKY_MAX_CPU_COUNT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, share)
    threadpoolctl.threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))


def data_dir():
    configured = os.environ.get("CONSLAW_DATA_DIR")
    if configured and (Path(configured) / "real_pend_h_1.txt").exists():
        return configured
    if (SHARED_DATA / "real_pend_h_1.txt").exists():
        return str(SHARED_DATA)
    return None


@pytest.fixture(scope="session")
def data_directory():
    """The directory holding the Schmidt & Lipson recording (the test is skipped without it)."""
    directory = data_dir()
    if directory is None:
        pytest.skip("the Schmidt & Lipson data directory (CONSLAW_DATA_DIR) is not available")
    return directory


@pytest.fixture(scope="session")
def real_pendulum(data_directory):
    return load_dataset("real-pendulum", data_dir=data_directory)


@pytest.fixture(scope="session")
def degree_pendulum():
    """A real discovery on a pendulum declared in degrees, as the report tests use it (about 5 s)."""
    from report_cases import pendulum_case

    return pendulum_case()
