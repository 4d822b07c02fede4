"""Everything a run writes and shows: run directories, result files, exports, plots, the summary."""
from conslaw.report.export import EXPORT_FORMATS, export_laws, load_law_module, select_laws
from conslaw.report.outputs import read_rollouts, write_outputs, write_run
from conslaw.report.progress import StageProgress
from conslaw.report.rundir import RunDirectory, default_run_path
from conslaw.report.summary import format_summary, law_table
from conslaw.report.table1 import METHOD_LABELS, table1_text

__all__ = [
    "EXPORT_FORMATS", "METHOD_LABELS", "RunDirectory", "StageProgress", "default_run_path", "export_laws",
    "format_summary", "law_table", "load_law_module", "read_rollouts", "select_laws", "table1_text",
    "write_outputs", "write_run",
]
