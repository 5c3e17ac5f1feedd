"""``koarena fake-server --help`` documents every route, the defaults and every fault kind."""

from __future__ import annotations

import pytest

from koarena.cli import build_parser
from koarena.testing import FAULT_KINDS, ROUTES


def test_help_lists_routes_defaults_and_fault_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["fake-server", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for route, _ in ROUTES:
        assert f"\n  {route}\n" in out
    assert "POST /v1/chat/completions" in out
    assert "POST /v1/messages" in out
    assert ":generateContent" in out
    assert "port 8000, latency 0 s, answer_tokens 60" in out
    for kind in FAULT_KINDS:
        assert f"\n  {kind:<11} " in out
    assert len(FAULT_KINDS) == 17
