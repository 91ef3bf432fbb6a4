"""Bradley–Terry ratings from pairwise results, with a bootstrap confidence interval.

A vote on a turn becomes pairwise results between the models shown: the winner beats each
other contender; a tie is half a win for each side of every pair. "All bad" says nothing
about which is better and adds no pair (it still counts as a vote).

Strengths are fitted with the MM algorithm (Hunter, 2004): ``p_i ← W_i / Σ_j n_ij/(p_i+p_j)``,
``W_i`` the wins of ``i`` (ties as halves), ``n_ij`` the games between ``i`` and ``j``. A weak
prior (``prior`` games, half won, against a virtual opponent of strength 1) keeps a model that
never won finite. Ratings are on the Elo scale: ``1000 + 400·log10(p)``, with the strengths'
geometric mean at 1 (rating 1000). The interval comes from resampling the votes with
replacement (a fixed seed: the same votes always give the same interval).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

BASE = 1000.0
SCALE = 400.0
BOOTSTRAP_SAMPLES = 200
BOOTSTRAP_SEED = 16
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


def ratings(
    votes: Sequence[Vote], prior: float = 1.0, samples: int = BOOTSTRAP_SAMPLES
) -> dict[Key, Rating]:
    """Each model's rating from all ``votes``, with a 95% bootstrap interval."""
    all_games = [game for vote in votes for game in vote]
    point = {k: to_rating(v) for k, v in strengths(all_games, prior).items()}
    if not point:
        return {}
    draws: dict[Key, list[float]] = defaultdict(list)
    rng = random.Random(BOOTSTRAP_SEED)
    informative = [vote for vote in votes if vote]
    for _sample in range(samples if informative else 0):
        resample = [game for vote in rng.choices(informative, k=len(informative)) for game in vote]
        fitted = strengths(resample, prior)
        for key in point:
            # A model absent from a resample is unrated there: its prior places it at 1000.
            draws[key].append(to_rating(fitted.get(key, 1.0)))
    result: dict[Key, Rating] = {}
    for key, value in point.items():
        values = sorted(draws[key]) or [value]
        result[key] = Rating(value, _quantile(values, 0.025), _quantile(values, 0.975))
    return result


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between the closest ranks."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] * (1 - fraction) + sorted_values[high] * fraction
