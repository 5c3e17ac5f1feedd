"""The dry run: what the pending tasks would send (requests, input tokens, dollars), unsent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from koarena.config import ModelEndpoint
from koarena.runner.pool import count_request_tokens
from koarena.runner.tasks import Task, pending_tasks


@dataclass
class Estimate:
    """What a run would cost: per model, requests and tokens, and dollars where priced."""

    requests: Counter[str] = field(default_factory=Counter)
    input_tokens: Counter[str] = field(default_factory=Counter)
    max_output_tokens: Counter[str] = field(default_factory=Counter)
    expected_output_tokens: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def cost(self, endpoints: dict[str, ModelEndpoint], model: str,
             output: Counter[str], *, batch: bool = False) -> float | None:
        """Dollars for ``model`` with ``output`` tokens, at the online or the batch rates."""
        cfg = endpoints.get(model)
        if cfg is None or cfg.price is None:
            return None
        return cfg.price.cost(self.input_tokens[model], output[model], batch=batch)


def estimate(tasks: Sequence[Task], expected_output_tokens: int | None = None) -> Estimate:
    """Count what the pending tasks would send (dry run): nothing is requested.

    Output tokens are bounded by each request's ``max_tokens``; ``expected_output_tokens`` per
    request, when given, is a likelier figure (e.g. the mean answer length of published models).
    """
    todo, skipped = pending_tasks(tasks)
    est = Estimate(skipped=skipped)
    for t in todo:
        for req in t.planned_requests():
            est.requests[t.model] += 1
            est.input_tokens[t.model] += count_request_tokens(req)
            cap = req.max_tokens or 0
            est.max_output_tokens[t.model] += cap
            exp = expected_output_tokens if expected_output_tokens is not None else cap
            est.expected_output_tokens[t.model] += min(cap, exp) if cap else exp
    return est
