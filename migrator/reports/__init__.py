"""One report model (report.json's shape); every other format is a view of it."""

from .model import REPORT_SCHEMA, build_report, coverage_of, to_json  # noqa: F401
