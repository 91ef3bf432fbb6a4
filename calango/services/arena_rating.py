"""Bradley–Terry ratings from pairwise results, with a confidence interval.

A vote on a turn becomes pairwise results between the models shown: the winner beats each
other contender; a tie is half a win for each side of every pair. "All bad" says nothing
about which is better and adds no pair (it still counts as a vote).

Strengths are fitted with the MM algorithm (Hunter, 2004): ``p_i ← W_i / Σ_j n_ij/(p_i+p_j)``,
``W_i`` the wins of ``i`` (ties as halves), ``n_ij`` the games between ``i`` and ``j``. A weak
prior (``prior`` games, half won, against a virtual opponent of strength 1) keeps a model that
never won finite. Ratings are on the Elo scale: ``1000 + 400·log10(p)``, with the strengths'
geometric mean at 1 (rating 1000). The 95% interval is ±1.96 standard errors of the rating,
from the inverse of the observed (Fisher) information at the fit: deterministic, cheap, and
honest for few votes (a bootstrap of one vote collapses to a point).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

BASE = 1000.0
SCALE = 400.0
Z95 = 1.959964  # the normal quantile of a two-sided 95% interval
MAX_ITERATIONS = 500
TOLERANCE = 1e-9

Key = Hashable


@dataclass(frozen=True)
class Game:
    """One pairwise result: ``score`` is what ``a`` got (1 win, 0.5 tie, 0 loss)."""

    a: Key
    b: Key
    score: float


# A vote is the games it produced (a vote is resampled as a whole).
Vote = Sequence[Game]


@dataclass(frozen=True)
class Rating:
    """A model's rating and its 95% interval."""

    rating: float
    low: float
    high: float


def games_of_vote(shown: Sequence[Key], winner: Key | None, tie: bool) -> list[Game]:
    """The pairwise games of one vote among the models ``shown`` (a model shown twice, with
    two personas, plays no game against itself)."""
    models = list(dict.fromkeys(shown))
    if winner is None and not tie:
        return []
    games: list[Game] = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            if tie:
                games.append(Game(a, b, 0.5))
            elif winner == a:
                games.append(Game(a, b, 1.0))
            elif winner == b:
                games.append(Game(b, a, 1.0))
    return games


def strengths(
    games: Sequence[Game], prior: float = 1.0, normalize: bool = True
) -> dict[Key, float]:
    """Bradley–Terry strengths fitted by MM iterations, scaled to a geometric mean of 1
    (``normalize``; without it, on the scale of the prior's strength-1 opponent)."""
    wins: dict[Key, float] = defaultdict(float)
    pairs: dict[Key, dict[Key, float]] = defaultdict(lambda: defaultdict(float))
    for game in games:
        wins[game.a] += game.score
        wins[game.b] += 1.0 - game.score
        pairs[game.a][game.b] += 1.0
        pairs[game.b][game.a] += 1.0
    players = list(pairs)
    if not players:
        return {}
    p = dict.fromkeys(players, 1.0)
    for _iteration in range(MAX_ITERATIONS):
        new: dict[Key, float] = {}
        for i in players:
            denominator = sum(n / (p[i] + p[j]) for j, n in pairs[i].items())
            numerator = wins[i] + prior / 2
            if prior:
                denominator += prior / (p[i] + 1.0)
            new[i] = max(numerator, 1e-12) / denominator
        if not prior:  # without the virtual opponent only ratios are defined: fix the scale
            new = _normalized(new)
        change = max(abs(math.log(new[k] / p[k])) for k in players)
        p = new
        if change < TOLERANCE:
            break
    return _normalized(p) if normalize else p


def _normalized(p: dict[Key, float]) -> dict[Key, float]:
    scale = math.exp(sum(math.log(v) for v in p.values()) / len(p))
    return {k: v / scale for k, v in p.items()}


def to_rating(strength: float) -> float:
    """A strength on the Elo-like scale (1000 = the geometric mean of the models)."""
    return BASE + SCALE * math.log10(strength)


def ratings(votes: Sequence[Vote], prior: float = 1.0) -> dict[Key, Rating]:
    """Each model's rating from all ``votes``, with a 95% interval from the Fisher
    information (see ``_covariance``)."""
    games = [game for vote in votes for game in vote]
    fitted = strengths(games, prior, normalize=False)
    if not fitted:
        return {}
    keys = list(fitted)
    covariance = _covariance(games, fitted, keys, prior)
    log_mean = sum(math.log(fitted[k]) for k in keys) / len(keys)
    k = len(keys)
    result: dict[Key, Rating] = {}
    for a, key in enumerate(keys):
        # The rating is relative to the models' mean: Var(θ_a − θ̄) = cᵀ·C·c, c = e_a − 1/k.
        c = [(1.0 if b == a else 0.0) - 1.0 / k for b in range(k)]
        variance = sum(c[x] * covariance[x][y] * c[y] for x in range(k) for y in range(k))
        spread = Z95 * SCALE / math.log(10) * math.sqrt(max(variance, 0.0))
        rating = BASE + SCALE * (math.log(fitted[key]) - log_mean) / math.log(10)
        result[key] = Rating(rating, rating - spread, rating + spread)
    return result


def _covariance(
    games: Sequence[Game], p: dict[Key, float], keys: list[Key], prior: float
) -> list[list[float]]:
    """The inverse of the observed information of the log-strengths θ = ln p: each game
    between i and j adds π(1−π) (π = p_i/(p_i+p_j)) to I_ii and I_jj and takes it from I_ij;
    the prior's virtual games against strength 1 make I invertible."""
    index = {key: n for n, key in enumerate(keys)}
    k = len(keys)
    info = [[0.0] * k for _ in range(k)]
    for game in games:
        i, j = index[game.a], index[game.b]
        pi = p[game.a] / (p[game.a] + p[game.b])
        w = pi * (1 - pi)
        info[i][i] += w
        info[j][j] += w
        info[i][j] -= w
        info[j][i] -= w
    for key, n in index.items():
        pi = p[key] / (p[key] + 1.0)
        info[n][n] += prior * pi * (1 - pi) + 1e-9
    return _inverse(info)


def _inverse(matrix: list[list[float]]) -> list[list[float]]:
    """Gauss–Jordan inverse of a symmetric positive definite matrix (small: one row per
    model)."""
    k = len(matrix)
    work = [row[:] + [1.0 if c == r else 0.0 for c in range(k)] for r, row in enumerate(matrix)]
    for col in range(k):
        pivot = max(range(col, k), key=lambda r: abs(work[r][col]))
        work[col], work[pivot] = work[pivot], work[col]
        head = work[col][col]
        work[col] = [v / head for v in work[col]]
        for r in range(k):
            if r != col and work[r][col]:
                factor = work[r][col]
                work[r] = [v - factor * h for v, h in zip(work[r], work[col], strict=True)]
    return [row[k:] for row in work]
