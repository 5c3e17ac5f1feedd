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
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from koarena.battles import Battles

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


def _softplus(x: FloatArray) -> FloatArray:
    return np.logaddexp(0.0, x)


@dataclass
class FitResult:
    """Coefficients of a batch of fits: ``beta`` (R, models), ``gamma`` (R, k)."""

    beta: FloatArray
    gamma: FloatArray
    iterations: int
    converged: bool


def fit_bt(
    design: Design,
    s_a: FloatArray,
    s_b: FloatArray,
    *,
    l2: float = 0.0,
    anchor: int = 0,
    init: FloatArray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> FitResult:
    """Fit a batch of R problems sharing ``design``; ``s_a``/``s_b`` have shape (R, rows).

    ``l2`` is λ = 1/C. With ``l2 == 0`` the coefficient of model ``anchor`` is pinned to 0.
    Newton steps with backtracking; stops when every problem's largest step is below ``tol``.
    """
    s_a = np.atleast_2d(s_a)
    s_b = np.atleast_2d(s_b)
    R = s_a.shape[0]
    p, k = design.n_models, design.k
    P = p + k
    theta = np.zeros((R, P)) if init is None else np.array(np.broadcast_to(init, (R, P)))
    t = s_a + s_b
    pinned = l2 == 0.0
    eye = np.eye(P)
    offs = (np.arange(R) * p)[:, None]
    ia = design.a[None, :] + offs
    ib = design.b[None, :] + offs
    pair_offs = (np.arange(R) * p * p)[:, None]
    iaa = design.a * p + design.a
    ibb = design.b * p + design.b
    iab = design.a * p + design.b
    iba = design.b * p + design.a

    def eta_of(th: FloatArray) -> FloatArray:
        beta = th[:, :p]
        e = design.ca * np.take_along_axis(beta, design.a[None, :].repeat(R, 0), 1)
        e = e + design.cb * np.take_along_axis(beta, design.b[None, :].repeat(R, 0), 1)
        if k:
            e = e + th[:, p:] @ design.z.T
        return e

    def loss_of(th: FloatArray, e: FloatArray) -> FloatArray:
        val = (s_a * _softplus(-e) + s_b * _softplus(e)).sum(axis=1)
        return val + 0.5 * l2 * (th * th).sum(axis=1)

    eta = eta_of(theta)
    loss = loss_of(theta, eta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        mu = 1.0 / (1.0 + np.exp(-eta))
        d = t * mu - s_a
        w = t * mu * (1.0 - mu)
        g = np.empty((R, P))
        g[:, :p] = np.bincount(
            ia.ravel(), (design.ca * d).ravel(), minlength=R * p
        ).reshape(R, p) + np.bincount(ib.ravel(), (design.cb * d).ravel(), minlength=R * p).reshape(
            R, p
        )
        if k:
            g[:, p:] = d @ design.z
        g += l2 * theta
        H = np.zeros((R, P, P))
        wa2 = w * design.ca**2
        wb2 = w * design.cb**2
        wab = w * design.ca * design.cb
        flat = (
            np.bincount((iaa + pair_offs).ravel(), wa2.ravel(), minlength=R * p * p)
            + np.bincount((ibb + pair_offs).ravel(), wb2.ravel(), minlength=R * p * p)
            + np.bincount((iab + pair_offs).ravel(), wab.ravel(), minlength=R * p * p)
            + np.bincount((iba + pair_offs).ravel(), wab.ravel(), minlength=R * p * p)
        )
        H[:, :p, :p] = flat.reshape(R, p, p)
        if k:
            for j in range(k):
                zj = design.z[:, j]
                col = np.bincount(
                    ia.ravel(), (w * design.ca * zj).ravel(), minlength=R * p
                ) + np.bincount(ib.ravel(), (w * design.cb * zj).ravel(), minlength=R * p)
                H[:, :p, p + j] = col.reshape(R, p)
                H[:, p + j, :p] = col.reshape(R, p)
            H[:, p:, p:] = np.einsum("rn,ni,nj->rij", w, design.z, design.z)
        H += l2 * eye
        if pinned:
            g[:, anchor] = 0.0
            H[:, anchor, :] = 0.0
            H[:, :, anchor] = 0.0
            H[:, anchor, anchor] = 1.0
        # A model with no battles in a resample has an all-zero row; keep it at its value.
        empty = np.abs(np.einsum("rii->ri", H)) < 1e-300
        if empty.any():
            ri, ci = np.nonzero(empty)
            H[ri, ci, ci] = 1.0
            g[ri, ci] = 0.0
        step = np.linalg.solve(H, g[:, :, None])[:, :, 0]
        scale = np.ones(R)
        new_theta = theta - step
        new_eta = eta_of(new_theta)
        new_loss = loss_of(new_theta, new_eta)
        for _ in range(40):
            worse = new_loss > loss + 1e-12 * np.abs(loss)
            if not worse.any():
                break
            scale = np.where(worse, scale * 0.5, scale)
            new_theta = theta - scale[:, None] * step
            new_eta = eta_of(new_theta)
            new_loss = loss_of(new_theta, new_eta)
        theta, eta, loss = new_theta, new_eta, new_loss
        if np.max(np.abs(scale[:, None] * step)) < tol:
            converged = True
            break
    return FitResult(beta=theta[:, :p], gamma=theta[:, p:], iterations=it, converged=converged)


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
