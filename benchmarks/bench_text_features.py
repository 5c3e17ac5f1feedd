"""Per-answer text features over every answer of the shared data: the markdown counts and
token count of ``conv_metadata`` (style control) and the Korean ``script_profile``.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/bench_text_features.py \
        [--data-dir ../shared/data]

Point PYTHONPATH at another checkout's ``src`` to time that code on the same texts. Prints CPU
seconds of one process for each function over all answers; read, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from koarena.korean import script_profile
from koarena.style import count_tokens, element_counts


def answer_texts(data_dir: Path) -> list[str]:
    """The last assistant turn of every answer (what ``conv_metadata`` is computed on)."""
    texts = []
    for path in sorted((data_dir / "ko-arena-hard-v0.1" / "model_answer").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                texts.append(orjson.loads(line)["choices"][0]["turns"][-1]["content"])
    return texts


def cpu(fn: Callable[[str], object], texts: list[str]) -> float:
    start = time.process_time()
    for t in texts:
        fn(t)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("KOARENA_DATA_DIR", "../shared/data")))
    texts = answer_texts(ap.parse_args().data_dir)
    print(f"{len(texts)} answers, {sum(map(len, texts)) / 1e6:.1f} M characters")
    count_tokens("warm up")  # loads the encoding
    for name, fn in (("markdown counts (element_counts)", element_counts),
                     ("token count (count_tokens)", count_tokens),
                     ("Korean profile (script_profile)", script_profile)):
        print(f"{name:36s} {cpu(fn, texts):6.1f} s CPU")


if __name__ == "__main__":
    main()
