"""A Rinha's leaderboard: models ranked by a Bradley–Terry rating from the votes, beside
their win rate, average cost per answer and median time to first token in the arena."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from calango.models import VoteOutcome
from calango.services import arena_queries as queries
from calango.services.arena_rating import Rating, Vote, games_of_vote, ratings

# The periods the leaderboard can be limited to: days back (None: every vote).
PERIODS: dict[str, int | None] = {"all": None, "30": 30, "7": 7}

ModelKey = tuple[str, str]  # (provider, model)


@dataclass
class Row:
    """One model of the leaderboard."""

    provider: str
    model: str
    rating: Rating
    votes: int  # votes on turns it answered
    wins: int
    ties: int
    all_bad: int
    average_cost: Decimal | None
    median_ttft_ms: int | None

    @property
    def win_rate(self) -> float:
        return self.wins / self.votes if self.votes else 0.0


@dataclass
class Leaderboard:
    rows: list[Row]
    total_votes: int


def leaderboard(period: str = "all", persona: str | None = None) -> Leaderboard:
    """The ranking over ``period`` (a key of PERIODS), optionally of one persona's contenders."""
    days = PERIODS.get(period)
    votes: list[Vote] = []
    counts: dict[ModelKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total = 0
    for vote in queries.votes_for_leaderboard(days):
        contenders = [c for c in vote.round.contenders if not persona or c.persona == persona]
        shown = [(c.provider, c.model) for c in contenders]
        if len(set(shown)) < 1:
            continue
        winner_contender = next((c for c in contenders if c.slot == vote.winner_slot), None)
        if vote.outcome == VoteOutcome.WINNER and winner_contender is None:
            continue  # the winner is outside the persona filter: nothing to learn here
        winner = (winner_contender.provider, winner_contender.model) if winner_contender else None
        total += 1
        votes.append(games_of_vote(shown, winner, vote.outcome == VoteOutcome.TIE))
        for key in set(shown):
            counts[key]["votes"] += 1
            if vote.outcome == VoteOutcome.TIE:
                counts[key]["ties"] += 1
            elif vote.outcome == VoteOutcome.ALL_BAD:
                counts[key]["all_bad"] += 1
            elif key == winner:
                counts[key]["wins"] += 1
    rated = ratings(votes)
    costs: dict[ModelKey, list[Decimal]] = defaultdict(list)
    ttfts: dict[ModelKey, list[int]] = defaultdict(list)
    for provider, model, cost, ttft in queries.answer_metrics(days, persona):
        if isinstance(cost, Decimal):
            costs[(provider, model)].append(cost)
        if isinstance(ttft, int):
            ttfts[(provider, model)].append(ttft)
    rows = []
    for key, count in counts.items():
        rating = rated.get(key, Rating(1000.0, 1000.0, 1000.0))
        paid = costs.get(key)
        times = ttfts.get(key)
        rows.append(
            Row(
                provider=key[0],
                model=key[1],
                rating=rating,
                votes=count["votes"],
                wins=count["wins"],
                ties=count["ties"],
                all_bad=count["all_bad"],
                average_cost=sum(paid, Decimal(0)) / len(paid) if paid else None,
                median_ttft_ms=round(statistics.median(times)) if times else None,
            )
        )
    rows.sort(key=lambda r: (-r.rating.rating, -r.votes, r.model))
    return Leaderboard(rows=rows, total_votes=total)
