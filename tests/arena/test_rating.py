"""The Bradley–Terry maths against values worked out by hand and an independent check."""

from __future__ import annotations

import math

import pytest

from calango.services.arena_rating import (
    Game,
    games_of_vote,
    ratings,
    strengths,
    to_rating,
)


def _wins(a: str, b: str, n: int) -> list[Game]:
    return [Game(a, b, 1.0)] * n


def test_two_models_strength_ratio_is_the_win_ratio() -> None:
    # By hand: the MLE of p_A/p_B is wins_A/wins_B = 3/1; with a geometric mean of 1,
    # p_A = √3, p_B = 1/√3, and A's rating is 1000 + 400·log10(√3) ≈ 1095.42.
    p = strengths(_wins("A", "B", 3) + _wins("B", "A", 1), prior=0)
    assert p["A"] == pytest.approx(math.sqrt(3))
    assert p["B"] == pytest.approx(1 / math.sqrt(3))
    assert to_rating(p["A"]) == pytest.approx(1095.424, abs=1e-3)
    assert to_rating(p["B"]) == pytest.approx(904.576, abs=1e-3)


def test_ties_count_as_half_a_win() -> None:
    # 1 win each and 2 ties = 2 wins each: equal strengths.
    games = _wins("A", "B", 1) + _wins("B", "A", 1) + [Game("A", "B", 0.5)] * 2
    p = strengths(games, prior=0)
    assert p["A"] == pytest.approx(1.0) and p["B"] == pytest.approx(1.0)
    # 1 win for A and 2 ties: A has 2 of 3 points, the ratio is 2:1.
    p = strengths(_wins("A", "B", 1) + [Game("A", "B", 0.5)] * 2, prior=0)
    assert p["A"] / p["B"] == pytest.approx(2.0)


def test_three_models_satisfy_the_likelihood_equations() -> None:
    # An independent check of the fit: at the maximum of the likelihood each model's
    # expected wins, Σ_j n_ij·p_i/(p_i+p_j), equal its actual wins.
    games = (
        _wins("A", "B", 4) + _wins("B", "A", 2)
        + _wins("B", "C", 3) + _wins("C", "B", 1)
        + _wins("A", "C", 2) + _wins("C", "A", 1)
    )  # fmt: skip
    p = strengths(games, prior=0)
    for player in "ABC":
        actual = sum(g.score for g in games if g.a == player) + sum(
            1 - g.score for g in games if g.b == player
        )
        expected = sum(
            p[player] / (p[player] + p[g.b if g.a == player else g.a])
            for g in games
            if player in (g.a, g.b)
        )
        assert expected == pytest.approx(actual, rel=1e-6)
    assert p["A"] > p["B"] > p["C"]
    assert math.prod(p.values()) == pytest.approx(1.0)


def _bisect(f, low: float, high: float) -> float:  # type: ignore[no-untyped-def]
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) < 0 else (low, middle)
    return (low + high) / 2


def test_the_prior_keeps_an_unbeaten_model_finite() -> None:
    # Without a prior A's strength would grow without bound. With one virtual game each
    # (half won) against a strength-1 opponent, for 1 win of A over B: by symmetry
    # p_B = 1/p_A, and A's likelihood equation is 1 + ½ = a²/(a²+1) + a/(a+1).
    # Solved here by bisection, independently of the MM iterations: a ≈ 2.1304.
    p = strengths(_wins("A", "B", 1), prior=1.0)
    a = _bisect(lambda x: x * x / (x * x + 1) + x / (x + 1) - 1.5, 1.0, 10.0)
    assert a == pytest.approx(2.1304, abs=1e-4)
    assert p["A"] == pytest.approx(a, rel=1e-6)
    assert p["B"] == pytest.approx(1 / a, rel=1e-6)


def test_with_the_prior_the_likelihood_equations_hold() -> None:
    games = _wins("A", "B", 5) + _wins("B", "C", 2) + _wins("C", "B", 1) + _wins("A", "C", 1)
    q = strengths(games, prior=1.0, normalize=False)
    for player in "ABC":
        actual = sum(g.score for g in games if g.a == player) + sum(
            1 - g.score for g in games if g.b == player
        )
        expected = sum(
            q[player] / (q[player] + q[g.b if g.a == player else g.a])
            for g in games
            if player in (g.a, g.b)
        ) + q[player] / (q[player] + 1)  # the virtual game, half won
        assert expected == pytest.approx(actual + 0.5, rel=1e-6)


def test_a_vote_becomes_pairwise_games() -> None:
    assert games_of_vote(["A", "B", "C"], "B", tie=False) == [
        Game("B", "A", 1.0),
        Game("B", "C", 1.0),
    ]
    assert games_of_vote(["A", "B"], None, tie=True) == [Game("A", "B", 0.5)]
    assert games_of_vote(["A", "B"], None, tie=False) == []  # all bad: no preference
    # The same model twice (two personas) plays no game against itself.
    assert games_of_vote(["A", "A", "B"], "A", tie=False) == [Game("A", "B", 1.0)]


def test_interval_from_the_fisher_information_by_hand() -> None:
    # One win of A over B, with the prior: a = p_A ≈ 2.1304, p_B = 1/a (see above). By hand,
    # with w = π(1−π) for π = a²/(a²+1) (A against B) and v = π₀(1−π₀) for π₀ = a/(a+1)
    # (each against the virtual opponent), the information is [[w+v, −w], [−w, w+v]] and the
    # variance of θ_A − (θ_A+θ_B)/2 is 1 / (2·(2w+v)).
    rated = ratings([[Game("A", "B", 1.0)]])
    a = _bisect(lambda x: x * x / (x * x + 1) + x / (x + 1) - 1.5, 1.0, 10.0)
    pi, pi0 = a * a / (a * a + 1), a / (a + 1)
    w, v = pi * (1 - pi), pi0 * (1 - pi0)
    spread = 1.959964 * 400 / math.log(10) * math.sqrt(1 / (2 * (2 * w + v)))
    assert rated["A"].rating == pytest.approx(to_rating(a), abs=1e-6)
    assert rated["A"].high - rated["A"].rating == pytest.approx(spread, rel=1e-6)
    assert rated["A"].rating - rated["A"].low == pytest.approx(spread, rel=1e-6)
    assert rated["B"].rating == pytest.approx(2000 - rated["A"].rating)


def test_more_evidence_narrows_the_interval() -> None:
    votes = [[g] for g in _wins("A", "B", 8) + _wins("B", "A", 2)]
    few = ratings(votes)["A"]
    assert few.low < few.rating < few.high
    assert ratings(votes)["B"].rating < 1000 < few.rating
    many = ratings(votes * 5)["A"]
    assert many.high - many.low < few.high - few.low


def test_no_votes_no_ratings() -> None:
    assert ratings([]) == {}
    assert ratings([[]]) == {}
