"""Run directories, result files, exports, plots and the terminal summary of a conslaw run."""
from conslaw.report.export import EXPORT_FORMATS, export_laws, load_result, load_torch_laws
from conslaw.report.files import read_rollouts, write_result_files, write_rollouts
from conslaw.report.rundir import (
    CheckpointStore,
    RunDirectory,
    atomic_save_bytes,
    atomic_save_npz,
    atomic_save_pickle,
    atomic_save_torch,
    atomic_write_json,
    atomic_write_text,
    default_run_path,
)
from conslaw.report.summary import StageProgress, format_summary, progress_bar

__all__ = [
    "CheckpointStore", "EXPORT_FORMATS", "RunDirectory", "StageProgress", "atomic_save_bytes", "atomic_save_npz", "atomic_save_pickle",
    "atomic_save_torch", "atomic_write_json", "atomic_write_text", "default_run_path", "export_laws",
    "format_summary", "load_result", "load_torch_laws", "progress_bar", "read_rollouts", "write_result_files",
    "write_rollouts",
]
