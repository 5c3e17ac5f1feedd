"""Small Arena-Hard v2.0 benches on disk: questions, category settings, answers, judgments."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from koarena.jsonl import write_jsonl_atomic

LABELS = ("A>B", "A>>B", "A=B", "A<<B", "A<B", "B>A", "B>>A", "B=A", "B<<A", "B<A")
SETTINGS = {
    "hard_prompt": ("base-h", "judge hard prompts"),
    "coding": ("base-h", "judge hard prompts"),
    "math": ("base-h", "judge hard prompts"),
    "creative_writing": ("base-c", "judge creative writing"),
}


def write_settings(root: Path, settings: Mapping[str, tuple[str, str]] = SETTINGS) -> None:
    cats = {c: {"baseline": b, "system_prompt": p} for c, (b, p) in settings.items()}
    root.mkdir(parents=True, exist_ok=True)
    (root / "judge_settings.yaml").write_text(yaml.safe_dump({"categories": cats}, sort_keys=False))


def random_meta(rng: random.Random) -> dict[str, Any]:
    return {
        "token_len": rng.randint(1, 900),
        "header_count": {f"h{i}": rng.randint(0, 2) for i in range(1, 7)},
        "list_count": {"ordered": rng.randint(0, 6), "unordered": rng.randint(0, 9)},
        "bold_count": {"**": rng.randint(0, 7), "__": rng.randint(0, 1)},
    }


def answer(uid: str, model: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uid": uid, "ans_id": f"{model}-{uid}", "model": model,
        "messages": [{"role": "user", "content": "q"},
                     {"role": "assistant", "content": {"answer": f"{model} on {uid}"}}],
        "metadata": dict(meta),
    }


def judgment(q: Mapping[str, Any], model: str, baseline: str, g1: str | None, g2: str | None,
             judge: str = "jx") -> dict[str, Any]:
    return {
        "uid": q["uid"], "category": q["category"], "judge": judge, "model": model,
        "baseline": baseline,
        "games": [None if g is None else {"score": g} for g in (g1, g2)],
    }


def write_bench(
    root: Path,
    questions: Sequence[Mapping[str, Any]],
    models: Sequence[str],
    *,
    seed: int = 0,
    metas: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    settings: Mapping[str, tuple[str, str]] = SETTINGS,
) -> dict[str, Any]:
    """Write a bench; every model is judged on every question with labels drawn from all ten
    spellings, about one judgment in twelve missing a game. Returns what was written:
    ``judgments`` (records) and ``metadata`` (model -> uid -> metadata)."""
    rng = random.Random(seed)
    write_jsonl_atomic(root / "question.jsonl", [dict(q) for q in questions])
    write_settings(root, settings)
    baselines = sorted({b for b, _ in settings.values()})
    metadata: dict[str, dict[str, Any]] = {}
    for m in [*baselines, *models]:
        metadata[m] = {
            q["uid"]: (metas or {}).get(m, {}).get(q["uid"]) or random_meta(rng)
            for q in questions
        }
        write_jsonl_atomic(root / "model_answer" / f"{m}.jsonl",
                           [answer(u, m, meta) for u, meta in metadata[m].items()])
    records: list[dict[str, Any]] = []
    for m in models:
        rows = []
        for q in questions:
            base = settings[q["category"]][0]
            g1: str | None = rng.choice(LABELS)
            g2 = rng.choice(LABELS)
            if rng.random() < 1 / 12:
                g1 = None
            rows.append(judgment(q, m, base, g1, g2))
        write_jsonl_atomic(root / "model_judgment" / "jx" / f"{m}.jsonl", rows)
        records.extend(rows)
    return {"judgments": records, "metadata": metadata}


def synthetic_questions(n_hard: int = 24, n_creative: int = 16) -> list[dict[str, Any]]:
    hard = [
        {"uid": f"h{i:03d}", "category": "hard_prompt",
         "subcategory": "coding" if i % 2 else "math", "prompt": f"hard {i}"}
        for i in range(n_hard)
    ]
    creative = [
        {"uid": f"c{i:03d}", "category": "creative_writing", "subcategory": "creative_writing",
         "prompt": f"story {i}"}
        for i in range(n_creative)
    ]
    return hard + creative
