"""Analyses no leaderboard shows: judge reliability, benchmark quality and Korean fidelity.

One module per metric family (`positions`, `agreement`, `self_preference`, `separability`,
`korean`); `analyze` runs them all on a bench.
"""

from koarena.analysis.core import AnalyzeOptions, Preloaded, analyze

__all__ = ["AnalyzeOptions", "Preloaded", "analyze"]
