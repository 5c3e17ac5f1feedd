from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from koarena.battles import build_battles
from koarena.rating import (
    LN10,
    Design,
    Resample,
    design_from_battles,
    fit_bt,
    resample_targets,
    targets,
    win_rate,
)
from koarena.records import Game, Judgment


def _design(a: list[int], b: list[int], n_models: int, z: np.ndarray | None = None) -> Design:
    n = len(a)
    return Design(
        n_models=n_models,
        a=np.array(a, dtype=np.int64),
        b=np.array(b, dtype=np.int64),
        ca=np.full(n, LN10),
        cb=np.full(n, -LN10),
        z=np.zeros((n, 0)) if z is None else z,
    )


def test_chain_of_three_models_reproduces_pairwise_frequencies() -> None:
    # model 0 beats 1 three times out of four, 1 beats 2 three times out of four
    d = _design([0, 1], [1, 2], 3)
    s_a, s_b = targets([3, 3], [1, 1], [0, 0])
    fit = fit_bt(d, s_a[None], s_b[None], l2=0.0, anchor=0)
    assert fit.converged
    beta = fit.beta[0]
    assert beta[0] == 0.0
    assert beta[1] == pytest.approx(-math.log10(3), abs=1e-12)
    assert beta[2] == pytest.approx(-2 * math.log10(3), abs=1e-12)
    assert win_rate(fit.beta, 0)[0].tolist() == pytest.approx([0.5, 0.25, 0.1], abs=1e-12)
    # 400·log10(3) Elo points per step of the chain
    assert 400 * (beta[0] - beta[1]) == pytest.approx(190.848501887865, abs=1e-9)


def test_cycle_with_equal_records_gives_equal_ratings() -> None:
    d = _design([0, 1, 2], [1, 2, 0], 3)
    s_a, s_b = targets([2, 2, 2], [1, 1, 1], [0, 0, 0])
    fit = fit_bt(d, s_a[None], s_b[None], l2=0.0)
    assert fit.beta[0].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize(
    ("n_a", "n_b", "n_tie", "expected"),
    [
        (1, 1, 2, 0.5),
        (2, 0, 2, 0.25),  # ties count half: (0 + 2/2) / 4
        (1, 3, 0, 0.75),
        (5, 2, 3, 0.35),  # (2 + 1.5) / 10
    ],
)
def test_ties_count_half(n_a: int, n_b: int, n_tie: int, expected: float) -> None:
    d = _design([0], [1], 2)
    s_a, s_b = targets([n_a], [n_b], [n_tie])
    fit = fit_bt(d, s_a[None], s_b[None], l2=0.0)
    assert win_rate(fit.beta, 0)[0, 1] == pytest.approx(expected, abs=1e-12)


def _dense_objective(
    d: Design, s_a: np.ndarray, s_b: np.ndarray, l2: float
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    X = np.zeros((d.n_rows, d.n_models + d.k))
    X[np.arange(d.n_rows), d.a] += d.ca
    X[np.arange(d.n_rows), d.b] += d.cb
    X[:, d.n_models:] = d.z

    def f(th: np.ndarray) -> tuple[float, np.ndarray]:
        eta = X @ th
        val = float(np.sum(s_a * np.logaddexp(0, -eta) + s_b * np.logaddexp(0, eta)))
        mu = 1 / (1 + np.exp(-eta))
        grad = X.T @ ((s_a + s_b) * mu - s_a)
        return val + 0.5 * l2 * float(th @ th), grad + l2 * th

    return f


def test_penalised_fit_with_covariates_matches_an_independent_optimiser() -> None:
    # imported here: scipy.optimize takes 0.6 s to import, at every xdist worker's collection
    from scipy.optimize import minimize

    rng = np.random.default_rng(7)
    n = 60
    b = rng.integers(1, 4, size=n)
    z = rng.normal(size=(n, 2))
    d = _design([0] * n, b.tolist(), 4, z)
    n_a = rng.integers(0, 4, size=n)
    n_b = rng.integers(0, 4, size=n)
    n_t = rng.integers(0, 2, size=n)
    s_a, s_b = targets(n_a, n_b, n_t)
    fit = fit_bt(d, s_a[None], s_b[None], l2=1.0)
    f = _dense_objective(d, s_a, s_b, 1.0)
    ref = minimize(f, np.zeros(6), jac=True, method="BFGS", options={"gtol": 1e-12})
    got = np.concatenate([fit.beta[0], fit.gamma[0]])
    assert got == pytest.approx(ref.x, abs=1e-7)
    # the gradient of the objective vanishes at our solution
    assert np.abs(f(got)[1]).max() < 1e-8


def test_batched_fits_equal_single_fits() -> None:
    d = _design([0, 0, 0, 0], [1, 2, 1, 2], 3, np.array([[0.5], [-1.0], [1.5], [0.0]]))
    sa = np.array([[4.0, 1, 2, 3], [1.0, 1, 5, 0]])
    sb = np.array([[1.0, 2, 2, 1], [3.0, 0, 1, 2]])
    both = fit_bt(d, sa, sb, l2=1.0)
    for r in range(2):
        single = fit_bt(d, sa[r : r + 1], sb[r : r + 1], l2=1.0)
        assert both.beta[r] == pytest.approx(single.beta[0], abs=1e-10)
        assert both.gamma[r] == pytest.approx(single.gamma[0], abs=1e-10)


def test_self_battle_keeps_the_original_encoding() -> None:
    j = [
        Judgment("q", "base", "j", [Game("A>B"), Game("A>B")]),
        Judgment("q", "m", "j", [Game("B>A"), Game("A>B")]),
    ]
    d = design_from_battles(build_battles(j, "base"))
    assert d.ca.tolist() == [0.0, LN10]
    assert d.cb.tolist() == [-LN10, -LN10]


def test_resample_battles_draws_as_many_battles_as_there_are() -> None:
    n_a = np.array([3, 0, 1])
    n_b = np.array([0, 2, 1])
    n_t = np.array([1, 1, 0])
    q = np.array([0, 1, 1])
    rng = np.random.default_rng(0)
    sa, sb = resample_targets(n_a, n_b, n_t, q, 2, Resample.BATTLES, rng, 200)
    assert sa.shape == (200, 3)
    # s_a + s_b = 2 × battles drawn, summed over rows = 2 × 9 per round
    assert np.all((sa + sb).sum(axis=1) == 18)
    # A row only receives outcomes it has (s_a = 2·A wins + ties, s_b = 2·B wins + ties):
    # row 0 has no B win, so s_b counts only its ties and s_a − s_b = 2·A wins is even;
    # row 1 has no A win, so s_b − s_a = 2·B wins is even; row 2 has no tie, so both are even.
    assert np.all((sa[:, 0] - sb[:, 0]) % 2 == 0) and np.all(sa[:, 0] >= sb[:, 0])
    assert np.all((sb[:, 1] - sa[:, 1]) % 2 == 0) and np.all(sb[:, 1] >= sa[:, 1])
    assert np.all(sa[:, 2] % 2 == 0) and np.all(sb[:, 2] % 2 == 0)
    # the only tie cells are rows 0 and 1: the ties drawn are s_b of row 0 plus s_a of row 1,
    # and a round draws each of the 9 battles with probability 1/9: 2 ties expected per round
    ties = sb[:, 0] + sa[:, 1]
    assert ties.max() <= 9 and 1.5 < ties.mean() < 2.5
    # seeded: the same generator state gives the same resamples
    again = resample_targets(n_a, n_b, n_t, q, 2, Resample.BATTLES, np.random.default_rng(0), 200)
    assert np.array_equal(sa, again[0]) and np.array_equal(sb, again[1])


def test_resample_questions_takes_whole_questions() -> None:
    n_a = np.array([1, 2, 0])
    n_b = np.array([0, 1, 4])
    n_t = np.array([1, 0, 0])
    q = np.array([0, 1, 1])
    sa, sb = resample_targets(
        n_a, n_b, n_t, q, 2, Resample.QUESTIONS, np.random.default_rng(3), 50
    )
    full_a, full_b = targets(n_a, n_b, n_t)
    for r in range(50):
        m0 = sa[r, 0] / full_a[0]
        m1 = sa[r, 1] / full_a[1]
        assert m0 + m1 == 2  # two questions drawn
        assert sb[r, 2] == full_b[2] * m1  # rows of one question move together
        assert sa[r, 2] == full_a[2] * m1
