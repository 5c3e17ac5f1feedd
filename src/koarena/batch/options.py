"""How a stage uses batch APIs (light: the runner imports it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from koarena.batch.apis import BatchApi, BatchState, make_batch_api
from koarena.config import ModelEndpoint

StatusFn = Callable[[str, str, BatchState, float], None]
"""Called after each poll with (model, batch id, state, seconds since submission)."""
BatchFactory = Callable[[ModelEndpoint], BatchApi]


@dataclass
class BatchOptions:
    """How batches are run: for which models (``all_models``, else the endpoints with
    ``batch: true``), the poll interval, where retries go, batch size."""

    all_models: bool = False
    poll_interval: float = 30.0
    retry_online: bool = False
    max_items: int = 50_000
    on_status: StatusFn | None = None
    factory: BatchFactory = make_batch_api
