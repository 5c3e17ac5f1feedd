"""Batches as files, for local models at scale: ``--batch-file in.jsonl`` writes the requests
as an OpenAI batch input file instead of sending them; a batch runner such as vLLM's
(``vllm run-batch -i in.jsonl -o out.jsonl``) answers them; ``--import-batch out.jsonl`` reads
its output back, with the same checks as an online run.

`FileBatch` is a `koarena.batch.apis.BatchApi` over files, so the rounds, the journal and the
retry path are the batch runner's: a written item is journalled under the file's batch id and
its task is deferred (neither done nor failed) until its result is imported; an import replays
the tasks, reads the results by custom id and writes the next round's requests (a judge's
follow-up turn, a question's next turn) to ``--batch-file`` again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from koarena.batch.apis import BatchState, ItemResult, OpenAIBatch
from koarena.config import ModelEndpoint
from koarena.errors import ConfigError, DataError
from koarena.jsonl import append_jsonl, iter_jsonl
from koarena.providers.apis import OPENAI, api_family
from koarena.providers.base import ChatRequest, FatalError

FILE_PREFIX = "file:"


class BatchDeferred(Exception):
    """A request written to a batch file: its task waits for ``--import-batch``."""


class FileBatch:
    """Write requests to ``write_to``; read results from the ``imported`` output files."""

    def __init__(self, cfg: ModelEndpoint, write_to: Path | None,
                 imported: Sequence[Path]) -> None:
        if api_family(cfg.api_type, f"model {cfg.name!r}") is not OPENAI:
            raise ConfigError(f"model {cfg.name!r}: batch files are in OpenAI's format; "
                              f"api_type {cfg.api_type} cannot use them")
        self.cfg = cfg
        self.shape = OpenAIBatch(cfg, cfg.endpoints[0])
        self.write_to = write_to
        self.imported = list(imported)
        self._results: dict[str, ItemResult] | None = None
        self.written: set[str] = set()

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        if self.write_to is None:
            raise FatalError(f"{self.cfg.name}: {len(items)} request(s) have no result in the "
                             "imported file(s); write them with --batch-file")
        lines = [self.shape.item_line(cid, request) for cid, request in items]
        append_jsonl(self.write_to, lines)
        batch_id = f"{FILE_PREFIX}{self.write_to.resolve()}#{len(self.written) + 1}"
        self.written.add(batch_id)
        return batch_id

    async def poll(self, batch_id: str) -> BatchState:
        return BatchState("written" if batch_id in self.written else "imported", 0, 0, True)

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        if batch_id in self.written or not batch_id.startswith(FILE_PREFIX):
            return {}
        if self._results is None:
            self._results = {}
            for path in self.imported:
                if not path.is_file():
                    raise DataError(f"{path}: no such batch output file")
                for lineno, line in iter_jsonl(path, strict=False):
                    cid = line.get("custom_id")
                    if not isinstance(cid, str):
                        raise DataError(f"{path}:{lineno}: a result line has no custom_id")
                    self._results[cid] = self.shape.item_result(line)
        return self._results

    def deferred(self, batch_id: str) -> bool:
        """Whether ``batch_id``'s items were just written: their tasks wait for an import."""
        return batch_id in self.written

    async def aclose(self) -> None:
        await self.shape.aclose()


def read_custom_ids(path: Path) -> list[str]:
    """The custom ids of a batch input or output file (for messages and tests)."""
    return [str(orjson.loads(x)["custom_id"]) for x in path.read_bytes().splitlines() if x.strip()]
