"""Bradley–Terry ratings as (optionally L2-penalised) logistic regression, and the bootstrap.

The published objective, written on aggregated rows: the original tool duplicates every
battle, giving a tie one A-win row and one B-win row and a decisive battle two identical rows.
A row ``r`` therefore carries ``s_a = 2·wins_A + ties`` "A won" targets and
``s_b = 2·wins_B + ties`` "B won" targets, and the loss is

    L(θ) = Σ_r s_a·log(1 + e^(−η_r)) + s_b·log(1 + e^(η_r)) + ½·λ·‖θ‖²,
    η_r  = ca_r·β[a_r] + cb_r·β[b_r] + z_r·γ,

with ``ca = +ln 10``, ``cb = −ln 10`` and style covariates ``z`` (λ = 1/C; the published style
fits use scikit-learn's default C = 1 on every coefficient). Without a penalty the baseline's
coefficient is pinned to 0 (the likelihood only sees rating differences). The fit is Newton's
method on a Hessian assembled from its sparse structure, run to convergence, batched over
bootstrap rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from koarena.battles import Battles

if TYPE_CHECKING:
    import scipy.sparse as sp

LN10 = math.log(10.0)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Resample(Enum):
    """Bootstrap unit: single battles (as the original tool) or whole questions."""

    BATTLES = "battles"
    QUESTIONS = "questions"


@dataclass
class Design:
    """The aggregated design of a BT fit: model indices, their signs, style covariates."""

    n_models: int
    a: IntArray
    b: IntArray
    ca: FloatArray
    cb: FloatArray
    z: FloatArray  # (rows, k), k may be 0
    _sparse: _SparseDesign | None = field(default=None, init=False, repr=False, compare=False)

    def sparse(self) -> _SparseDesign:
        """The sparse form used by `fit_bt`, built once."""
        if self._sparse is None:
            self._sparse = _sparse_design(self)
        return self._sparse

    @property
    def n_rows(self) -> int:
        return int(self.a.shape[0])

    @property
    def k(self) -> int:
        return int(self.z.shape[1])


def design_from_battles(battles: Battles, z: FloatArray | None = None) -> Design:
    """Build the design of ``battles``; ``z`` are already standardised style covariates.

    A battle of the baseline against itself keeps the original tool's encoding: its row has
    only −ln 10 in the baseline's column (the original wrote +ln 10 and then overwrote it).
    """
    n = battles.a.shape[0]
    self_play = battles.a == battles.b
    ca = np.where(self_play, 0.0, LN10)
    cb = np.full(n, -LN10)
    zz = np.zeros((n, 0)) if z is None else np.asarray(z, dtype=np.float64)
    return Design(len(battles.models), battles.a, battles.b, ca, cb, zz)


def targets(n_a: npt.ArrayLike, n_b: npt.ArrayLike, n_tie: npt.ArrayLike) -> tuple[
    FloatArray, FloatArray
]:
    """(s_a, s_b): the duplicated-battle targets of the original objective."""
    na = np.asarray(n_a, dtype=np.float64)
    nb = np.asarray(n_b, dtype=np.float64)
    nt = np.asarray(n_tie, dtype=np.float64)
    return 2.0 * na + nt, 2.0 * nb + nt


@dataclass
class FitResult:
    """Coefficients of a batch of fits: ``beta`` (R, models), ``gamma`` (R, k)."""

    beta: FloatArray
    gamma: FloatArray
    iterations: int
    converged: bool


@dataclass
class _SparseDesign:
    """The design as sparse matrices: X (rows × params), Xᵀ, and the map from per-row
    Hessian weights to the distinct entries of the upper triangle of XᵀWX."""

    X: sp.csr_matrix
    XT: sp.csr_matrix
    QT: sp.csr_matrix
    hi: IntArray
    hj: IntArray


def _sparse_design(design: Design) -> _SparseDesign:
    # Imported here: scipy.sparse takes a tenth of a second to import, which every command
    # that only reads these types (the CLI's options, the runner) would pay on start.
    import scipy.sparse as sp

    n, p, k = design.n_rows, design.n_models, design.k
    P = p + k
    rows = np.arange(n)
    cols = [design.a, design.b] + [np.full(n, p + j) for j in range(k)]
    vals = [design.ca, design.cb] + [design.z[:, j] for j in range(k)]
    X = sp.csr_matrix(
        (np.concatenate(vals), (np.tile(rows, 2 + k), np.concatenate(cols))), shape=(n, P)
    )
    X.sum_duplicates()
    # Every pair of a row's non-zeros contributes w·x_i·x_j to H[i, j]; collect the distinct
    # (i ≤ j) pairs once, so that H's upper triangle is one sparse product QᵀW.
    pr: list[IntArray] = []
    pc: list[IntArray] = []
    pv: list[FloatArray] = []
    c_list, v_list = cols, vals
    for u in range(len(c_list)):
        for v in range(u, len(c_list)):
            ci, cj = c_list[u], c_list[v]
            lo, hi_ = np.minimum(ci, cj), np.maximum(ci, cj)
            factor = 2.0 if u != v else 1.0
            # Off-diagonal pairs of the same column (a == b) land on the diagonal twice.
            pr.append(rows)
            pc.append(lo * P + hi_)
            pv.append(np.where((u != v) & (ci == cj), factor, 1.0) * v_list[u] * v_list[v])
    keys = np.concatenate(pc)
    uniq, inv = np.unique(keys, return_inverse=True)
    QT = sp.csr_matrix(
        (np.concatenate(pv), (inv, np.concatenate(pr))), shape=(uniq.shape[0], n)
    )
    QT.sum_duplicates()
    return _SparseDesign(X=X, XT=X.T.tocsr(), QT=QT, hi=uniq // P, hj=uniq % P)


def fit_bt(
    design: Design,
    s_a: FloatArray,
    s_b: FloatArray,
    *,
    l2: float = 0.0,
    anchor: int = 0,
    init: FloatArray | None = None,
    tol: float = 1e-9,
    max_iter: int = 100,
) -> FitResult:
    """Fit a batch of R problems sharing ``design``; ``s_a``/``s_b`` have shape (R, rows).

    ``l2`` is λ = 1/C. With ``l2 == 0`` the coefficient of model ``anchor`` is pinned to 0.
    Newton's method; a step that would move a coefficient by more than 1 (a factor of 10 in
    odds) is checked against the loss and halved until it decreases it. Stops when every
    problem's largest coefficient change is below ``tol``.
    """
    # Many small dense solves: BLAS threads only add synchronisation (3-10x slower with two
    # threads on the 2-core machine, see docs/benchmarks.md), so the fit runs single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_bt(design, s_a, s_b, l2=l2, anchor=anchor, init=init, tol=tol,
                       max_iter=max_iter)


def _fit_bt(
    design: Design,
    s_a: FloatArray,
    s_b: FloatArray,
    *,
    l2: float,
    anchor: int,
    init: FloatArray | None,
    tol: float,
    max_iter: int,
) -> FitResult:
    sd = design.sparse()
    s_a_t = np.ascontiguousarray(np.atleast_2d(s_a).T)  # (rows, R)
    s_b_t = np.ascontiguousarray(np.atleast_2d(s_b).T)
    R = s_a_t.shape[1]
    p, P = design.n_models, design.n_models + design.k
    theta = np.zeros((P, R)) if init is None else np.array(
        np.broadcast_to(np.asarray(init, dtype=np.float64)[:, None], (P, R))
    )
    t = s_a_t + s_b_t
    pinned = l2 == 0.0
    diag = np.arange(P)

    def loss_of(th: FloatArray, e: FloatArray) -> FloatArray:
        val = (s_a_t * np.logaddexp(0.0, -e) + s_b_t * np.logaddexp(0.0, e)).sum(axis=0)
        out: FloatArray = val + 0.5 * l2 * (th * th).sum(axis=0)
        return out

    eta = sd.X @ theta
    # The (rows × R) work arrays are allocated once: fresh ones each iteration cost more in
    # page faults than the arithmetic (the same operations in the same order, in place).
    mu, tm, d, w = (np.empty_like(t) for _ in range(4))
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        np.negative(eta, out=mu)  # mu = 1 / (1 + e^-eta)
        np.exp(mu, out=mu)
        mu += 1.0
        np.divide(1.0, mu, out=mu)
        np.multiply(t, mu, out=tm)
        np.subtract(tm, s_a_t, out=d)  # d = t·mu − s_a
        np.subtract(1.0, mu, out=w)  # w = t·mu·(1 − mu)
        w *= tm
        g = sd.XT @ d + l2 * theta  # (P, R)
        hc = sd.QT @ w  # distinct upper-triangle entries, (pairs, R)
        H = np.zeros((R, P, P))
        H[:, sd.hi, sd.hj] = hc.T
        H[:, sd.hj, sd.hi] = hc.T
        H[:, diag, diag] += l2
        gt = np.ascontiguousarray(g.T)
        if pinned:
            gt[:, anchor] = 0.0
            H[:, anchor, :] = 0.0
            H[:, :, anchor] = 0.0
            H[:, anchor, anchor] = 1.0
        # A model with no battles in a resample has an all-zero row; keep it where it is.
        empty = np.abs(H[:, diag, diag]) < 1e-300
        if empty.any():
            ri, ci = np.nonzero(empty)
            H[ri, ci, ci] = 1.0
            gt[ri, ci] = 0.0
        step = np.linalg.solve(H, gt[:, :, None])[:, :, 0].T  # (P, R)
        scale = np.ones(R)
        new_theta = theta - step
        new_eta = sd.X @ new_theta
        far = np.abs(step).max(axis=0) > 1.0
        if far.any():
            loss = loss_of(theta, eta)
            new_loss = loss_of(new_theta, new_eta)
            for _ in range(60):
                worse = far & (new_loss > loss)
                if not worse.any():
                    break
                scale = np.where(worse, scale * 0.5, scale)
                new_theta = theta - scale * step
                new_eta = sd.X @ new_theta
                new_loss = loss_of(new_theta, new_eta)
        theta, eta = new_theta, new_eta
        if np.max(np.abs(scale * step)) < tol:
            converged = True
            break
    th = theta.T
    return FitResult(beta=th[:, :p], gamma=th[:, p:], iterations=it, converged=converged)


def win_rate(beta: FloatArray, baseline: int) -> FloatArray:
    """Win probability of each model against the baseline: 1 / (1 + 10^(β_base − β_m))."""
    diff = np.clip(beta[..., [baseline]] - beta, -300.0, 300.0)
    return 1.0 / (1.0 + np.power(10.0, diff))


def resample_targets(
    n_a: IntArray,
    n_b: IntArray,
    n_tie: IntArray,
    q: IntArray,
    n_questions: int,
    unit: Resample,
    rng: np.random.Generator,
    size: int,
) -> tuple[FloatArray, FloatArray]:
    """Targets (s_a, s_b) of ``size`` bootstrap resamples, shape (size, rows).

    ``BATTLES`` draws as many battles as there are, with replacement, from the expanded battle
    list (a strong win is ``weight`` separate battles, as in the original). ``QUESTIONS`` draws
    questions with replacement and takes all battles of each drawn question.
    """
    rows = n_a.shape[0]
    if unit is Resample.QUESTIONS:
        picks = rng.integers(0, n_questions, size=(size, n_questions))
        mult = np.zeros((size, n_questions))
        np.add.at(mult, (np.arange(size)[:, None], picks), 1.0)
        m = mult[:, q]
        return targets(n_a[None, :] * m, n_b[None, :] * m, n_tie[None, :] * m)
    counts = np.concatenate([n_a, n_b, n_tie])
    cell_of_battle = np.repeat(np.arange(3 * rows), counts)
    total = cell_of_battle.shape[0]
    draws = cell_of_battle[rng.integers(0, total, size=(size, total))]
    offs = (np.arange(size) * 3 * rows)[:, None]
    c = np.bincount((draws + offs).ravel(), minlength=size * 3 * rows).reshape(size, 3, rows)
    return targets(c[:, 0], c[:, 1], c[:, 2])
