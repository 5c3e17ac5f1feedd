"""The static report site: leaderboard and judgment browser (see `koarena.report.builder`)."""

from koarena.report.builder import ReportSummary, build_report

__all__ = ["ReportSummary", "build_report"]
