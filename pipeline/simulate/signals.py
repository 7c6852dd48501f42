"""Planted signals: which teams drift into risk, where sentiment drops, and the noise around them.

Each team gets a weekly ``Mood``: shares of negative and positive posts, an activity multiplier,
the chance that a post voices an intention to leave, and boosts for the themes people talk about.

- At-risk teams (about 20 % of teams with >= 5 people): from an onset week, a ramp of 4-8 weeks
  raises the negative share (mostly workload and management), lowers participation and brings
  leave-intent posts; turnover rises a few weeks later (see ``lifecycle``). Severity varies.
- Planted drops: a sharp fall in sentiment for 2-4 weeks in a team of >= 10 people.
- Noise that is not a signal: teams with a grumpier baseline, weekly jitter, one-off negative weeks,
  busy seasons with workload complaints but no turnover, holiday seasons with few posts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.simulate.dk_calendar import iso_week_label, season_factor
from pipeline.simulate.org import Team

AT_RISK_SHARE = (0.15, 0.25)
DROP_MIN_TEAM = 10
DROP_CAUSES = ("management", "communication", "workload", "tools", "pay")
# Baseline shares of negative / positive top-level posts (the rest is neutral, ~55-65 %).
BASE_NEG = (0.06, 0.19)
BASE_POS = (0.15, 0.24)


@dataclass(frozen=True)
class Mood:
    p_neg: float
    p_pos: float
    rate: float
    p_leave: float
    risk: float  # 0..1, how far the team has drifted into risk
    theme_boost: dict[str, float]


@dataclass(frozen=True)
class Drop:
    team: str
    start_week: int  # index from the period start
    duration: int
    depth: float  # negative share during the drop
    cause: str


@dataclass
class TeamPlan:
    team: str
    base_neg: float
    base_pos: float
    at_risk: bool = False
    onset: int = 0
    ramp: int = 4
    severity: float = 0.0
    drops: list[Drop] = field(default_factory=list)
    one_off_weeks: list[int] = field(default_factory=list)
    busy_weeks: list[int] = field(default_factory=list)
    neg_jitter: list[float] = field(default_factory=list)
    rate_jitter: list[float] = field(default_factory=list)

    def risk_at(self, week: int) -> float:
        if not self.at_risk or week < self.onset:
            return 0.0
        return self.severity * min(1.0, (week - self.onset + 1) / self.ramp)

    def drop_at(self, week: int) -> Drop | None:
        return next((d for d in self.drops if d.start_week <= week < d.start_week + d.duration), None)


@dataclass
class SignalPlan:
    start: date
    weeks: int
    teams: dict[str, TeamPlan]

    def week_monday(self, week: int) -> date:
        return self.start + timedelta(weeks=week)

    def at_risk_units(self) -> list[str]:
        return sorted(name for name, p in self.teams.items() if p.at_risk)

    def drops(self) -> list[Drop]:
        return sorted((d for p in self.teams.values() for d in p.drops), key=lambda d: (d.start_week, d.team))

    def mood(self, team: str, week: int) -> Mood:
        plan = self.teams[team]
        risk = plan.risk_at(week)
        p_neg = plan.base_neg + plan.neg_jitter[week] + 0.24 * risk
        p_pos = plan.base_pos * (1 - 0.45 * risk)
        rate = math.exp(plan.rate_jitter[week]) * (1 - 0.35 * risk)
        boost = {"workload": 1 + 3 * risk, "management": 1 + 3 * risk, "retention": 1 + 3 * risk,
                 "pay": 1 + risk, "communication": 1 + risk}
        if week in plan.busy_weeks:
            p_neg += 0.06
            rate *= 1.1
            boost["workload"] += 2.5
        if week in plan.one_off_weeks:
            p_neg += 0.09
        drop = plan.drop_at(week)
        if drop is not None:
            p_neg = max(p_neg, drop.depth)
            p_pos *= 0.3
            boost[drop.cause] = boost.get(drop.cause, 1.0) + 5
        p_neg = min(0.8, max(0.02, p_neg))
        return Mood(p_neg=p_neg, p_pos=min(p_pos, 0.95 - p_neg), rate=rate,
                    p_leave=0.005 + 0.015 * risk, risk=risk, theme_boost=boost)


def _quiet(plan_start: date, week: int) -> bool:
    """Holiday weeks have too few posts for a planted event to be readable."""
    return season_factor(plan_start + timedelta(weeks=week)) < 0.8


def plan_signals(rng: random.Random, teams: list[Team], start: date, weeks: int) -> SignalPlan:
    plans: dict[str, TeamPlan] = {}
    for team in teams:
        grumpy = team.department in ("Kundeservice", "Drift")  # front-line teams complain more, steadily
        base_neg = rng.uniform(*BASE_NEG) + (0.04 if grumpy else 0.0)
        plans[team.name] = TeamPlan(
            team=team.name,
            base_neg=base_neg,
            base_pos=rng.uniform(*BASE_POS),
            neg_jitter=[rng.gauss(0, 0.025) for _ in range(weeks)],
            rate_jitter=[rng.gauss(0, 0.15) for _ in range(weeks)],
        )

    eligible = [t for t in teams if t.initial_size >= 5]
    n_risk = max(1, round(len(eligible) * rng.uniform(*AT_RISK_SHARE)))
    for team in rng.sample(eligible, min(n_risk, len(eligible))):
        plan = plans[team.name]
        plan.at_risk = True
        plan.onset = rng.randint(max(1, round(weeks * 0.1)), max(1, round(weeks * 0.45)))
        plan.ramp = rng.randint(4, 8)
        plan.severity = rng.uniform(0.35, 1.0)

    _plan_drops(rng, teams, plans, start, weeks)

    for team in teams:
        plan = plans[team.name]
        # A drop is an event, not noise: no one-off week on top of it.
        if not plan.drops and rng.random() < 0.25 and weeks >= 4:
            plan.one_off_weeks.append(rng.randrange(1, weeks))
        if not plan.at_risk and rng.random() < 0.15 and weeks >= 6:
            first = rng.randrange(0, weeks - 3)
            plan.busy_weeks.extend(range(first, min(weeks, first + rng.randint(3, 5))))
    return SignalPlan(start=start, weeks=weeks, teams=plans)


def _plan_drops(rng: random.Random, teams: list[Team], plans: dict[str, TeamPlan], start: date, weeks: int) -> None:
    """Sharp drops need a baseline before them (>= 4 weeks) and enough volume to be seen."""
    # Drops hit teams outside the at-risk set, so the two planted signals stay distinguishable.
    eligible = [t for t in teams if t.initial_size >= DROP_MIN_TEAM and not plans[t.name].at_risk]
    if weeks < 7 or not eligible:
        return
    n_drops = max(1, round(len(eligible) * weeks / 60))
    for team in rng.sample(eligible, min(n_drops, len(eligible))):
        duration = rng.randint(2, 4)
        starts = [w for w in range(4, weeks - duration + 1) if not _quiet(start, w)]
        if not starts:
            duration = 2
            starts = [w for w in range(4, weeks - 1) if not _quiet(start, w)]
        if not starts:
            continue
        week = rng.choice(starts)
        plans[team.name].drops.append(
            Drop(team.name, week, duration, depth=rng.uniform(0.55, 0.7), cause=rng.choice(DROP_CAUSES))
        )


def truth_drops(plan: SignalPlan) -> list[dict[str, object]]:
    return [
        {"unit": d.team, "week": iso_week_label(plan.week_monday(d.start_week)), "duration_weeks": d.duration,
         "start_date": plan.week_monday(d.start_week).isoformat(), "cause_theme": d.cause,
         "negative_share": round(d.depth, 3)}
        for d in plan.drops()
    ]
