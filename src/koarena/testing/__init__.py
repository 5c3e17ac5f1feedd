"""Test doubles: a fake model server on 127.0.0.1 speaking the OpenAI, Anthropic and Gemini
APIs, with deterministic answers and verdicts and scripted faults (`koarena fake-server`).

Modules: ``model`` (config, answers, verdicts, counters), ``faults`` (fault rules and kinds),
``http`` (the HTTP/1.1 connection), ``openai``/``anthropic``/``gemini`` (one API each),
``server`` (routing, `FakeServer`, `serve_forever`) and ``translator`` (the fake translation
mode used by ``koarena translate``'s tests).
"""

from koarena.testing.faults import FAULT_KINDS, FAULTS, FaultRule
from koarena.testing.model import FakeConfig, FakeState, answer_for, verdict_for
from koarena.testing.server import ROUTES, FakeServer, serve_forever

__all__ = [
    "FAULTS",
    "FAULT_KINDS",
    "ROUTES",
    "FakeConfig",
    "FakeServer",
    "FakeState",
    "FaultRule",
    "answer_for",
    "serve_forever",
    "verdict_for",
]
