"""The options and headings of the commands that fit leaderboards (``leaderboard``, ``run``,
``analyze``, ``report``): apart from `koarena.cli.common` so that the commands that only call
APIs (``answer``, ``judge``) do not import the fitting code and numpy on every
start."""

from __future__ import annotations

import argparse

from koarena.controls import CONTROL_HELP, DEFAULT_CONTROL, Control
from koarena.leaderboard import DEFAULT_ROUNDS, DEFAULT_SEED, Leaderboard


def add_control_option(p: argparse.ArgumentParser, *, more: str = "") -> None:
    """``--control`` with the choices of `Control` (``more`` is one extra choice, explained in
    its own words at the end of the help); its default is the published leaderboard's."""
    p.add_argument(
        "--control",
        choices=[*(c.value for c in Control), *([more.split(":")[0]] if more else [])],
        default=None if more else DEFAULT_CONTROL.value,
        help=f"what the fit controls for (default: {DEFAULT_CONTROL.value}, as the published "
        f"leaderboard). {CONTROL_HELP}" + (f"; {more}" if more else ""),
    )


def add_bootstrap_options(
    p: argparse.ArgumentParser, *, what: str = "bootstrap rounds", aliases: tuple[str, ...] = ()
) -> None:
    """``--rounds`` (and ``aliases``) and ``--seed``, defaulting to the published leaderboard's."""
    p.add_argument(
        "--rounds", *aliases, dest="rounds", type=int, default=DEFAULT_ROUNDS,
        help=f"{what} (default: {DEFAULT_ROUNDS}; 0 skips the confidence intervals)",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"bootstrap seed (default: {DEFAULT_SEED})"
    )


def fit_description(control: Control, rounds: int) -> str:
    """How a leaderboard was fitted, in words: ``style control, 1000 bootstrap rounds``."""
    how = "no control" if control is Control.NONE else f"{control.value} control"
    return f"{how}, {rounds} bootstrap rounds" if rounds else f"{how}, no bootstrap"


def board_heading(board: Leaderboard) -> str:
    """The line above a leaderboard table: bench, category, judges, baseline and how it was
    fitted."""
    category = f" · category {board.category}" if board.category else ""
    return (
        f"{board.bench}{category} · judge {'+'.join(board.judges)} · baseline {board.baseline} · "
        f"{fit_description(board.control, board.rounds)}"
    )
