"""A synthetic bench of three judges; the gpt-4o-mini judge is planted with a known bias.

20 questions, models gpt-x, gemini-y, deepseek-w against baseline ``base``.
Honest judges (gemini-2.0-flash-001, deepseek-chat-v3-0324): the model wins question i iff i is
even, both games consistent. Planted judge gpt-4o-mini: on questions 4, 9, 14, 19 it says
``A>B`` in both games (the answer shown first wins: position bias); elsewhere it is honest except
that its own family's model gpt-x wins every question (self-preference).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from koarena.records import Game, Judgment

N_QUESTIONS = 20
MODELS = ("gpt-x", "gemini-y", "deepseek-w")
BIASED = "gpt-4o-mini"
HONEST = ("gemini-2.0-flash-001", "deepseek-chat-v3-0324")
POSITION_BIASED_QUESTIONS = {4, 9, 14, 19}


def qid(i: int) -> str:
    return f"q{i:02d}"


def labels(judge: str, model: str, i: int) -> tuple[str, str]:
    """(game 1, game 2) labels; game 1 has the baseline as A."""
    if judge == BIASED and i in POSITION_BIASED_QUESTIONS:
        return "A>B", "A>B"
    model_wins = i % 2 == 0 or (judge == BIASED and model == "gpt-x")
    return ("B>A", "A>B") if model_wins else ("A>B", "B>A")


def judgments(judge: str) -> list[Judgment]:
    return [
        Judgment(qid(i), m, judge, [Game(g1), Game(g2)])
        for m in MODELS
        for i in range(N_QUESTIONS)
        for g1, g2 in [labels(judge, m, i)]
    ]


def write_bench(root: Path) -> Path:
    """Write the synthetic bench under ``root/synthetic``; returns the data dir ``root``."""
    bench = root / "synthetic"
    (bench / "model_answer").mkdir(parents=True)
    (bench / "judge_config.yaml").write_text("baseline_model: base\n", encoding="utf-8")
    with open(bench / "question.jsonl", "wb") as fh:
        for i in range(N_QUESTIONS):
            fh.write(orjson.dumps({
                "question_id": qid(i), "category": "synthetic", "cluster": f"c{i // 10}",
                "ko_cluster": f"분류{i // 10}", "turns": [{"content": "질문"}],
            }) + b"\n")
    texts = {"base": "한국어 답변입니다.", "gpt-x": "한국어 답변", "gemini-y": "한국어 답변",
             "deepseek-w": "This is the answer in English, which is not Korean."}
    meta = {"token_len": 5, "header_count": {"h1": 0}, "list_count": {"ordered": 0},
            "bold_count": {"**": 0}}
    for model, text in texts.items():
        with open(bench / "model_answer" / f"{model}.jsonl", "wb") as fh:
            for i in range(N_QUESTIONS):
                fh.write(orjson.dumps({
                    "question_id": qid(i), "answer_id": f"{model}-{i}", "model_id": model,
                    "choices": [{"index": 0, "turns": [{"content": text}]}], "tstamp": 0.0,
                    "conv_metadata": meta,
                }) + b"\n")
    for judge in (BIASED, *HONEST):
        d = bench / "model_judgment" / judge
        d.mkdir(parents=True)
        for model in MODELS:
            with open(d / f"{model}.jsonl", "wb") as fh:
                for j in judgments(judge):
                    if j.model == model:
                        fh.write(orjson.dumps(j.to_dict()) + b"\n")
    return root
