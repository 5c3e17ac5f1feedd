"""Analyses no leaderboard shows: judge reliability, benchmark quality and Korean fidelity.

One module per metric family (`positions`, `agreement`, `self_preference`, `separability`;
Korean fidelity is `koarena.korean`, which the leaderboard uses too); `analyze` runs them all
on a bench. Downstream only: nothing outside ``analysis``, ``report`` and ``cli`` imports it.
"""

from koarena.analysis.core import AnalyzeOptions, Preloaded, analyze

__all__ = ["AnalyzeOptions", "Preloaded", "analyze"]
