"""Flagged replies: what `koarena data check` and the leaderboard count as not quite an answer.

A reply (a model's answer, or a judge's) is flagged when it is the failed-call marker
(``$ERROR$``), empty, cut off by the token limit or stopped by a content filter
(`koarena.finish`). One count, so that both places mean the same thing by each word.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from koarena.finish import TRUNCATED
from koarena.records import Answer


@dataclass
class Flagged:
    """Flagged replies of one model (or one judge's replies about one model), by kind."""

    failure_markers: int = 0
    """Answers that are the literal ``$ERROR$`` of a failed API call."""
    empty: int = 0
    truncated: int = 0
    """Replies cut off by the token limit (``finish_reason: length``…)."""
    filtered: int = 0
    """Replies stopped by a content filter."""
    kept: int = 0
    """Cut-off or filtered ones the run kept on purpose (``finish_policy: keep``): listed, not
    counted as flagged."""

    @property
    def total(self) -> int:
        return self.failure_markers + self.empty + self.truncated + self.filtered

    def add_finish(self, problem: str | None, accepted: bool) -> None:
        """Count one reply by its `koarena.finish.finish_problem` and whether the run kept it
        on purpose."""
        if problem is None:
            return
        if accepted:
            self.kept += 1
        elif problem == TRUNCATED:
            self.truncated += 1
        else:
            self.filtered += 1

    @classmethod
    def of_answers(cls, answers: Iterable[Answer]) -> Flagged:
        """The flagged ones among ``answers``."""
        flagged = cls()
        for a in answers:
            flagged.failure_markers += a.is_failure_marker
            flagged.empty += a.is_empty
            flagged.add_finish(a.finish_problem, a.finish_accepted)
        return flagged
