"""Hires and leavers over the period, and who voices discontent before leaving.

Resignations follow a weekly hazard (about 12 % a year) that rises up to sevenfold in at-risk teams
a couple of weeks after their drift begins. Most salaried staff give a month's notice to the end of a
month, so a decision late in the period may fall outside it (the person resigned but still works
there at export time). Leavers are often replaced after a few weeks; the company also grows a little.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.simulate.dk_calendar import last_day_of_month
from pipeline.simulate.org import Company, Employee, PersonFactory, snap_start_day
from pipeline.simulate.signals import SignalPlan

ANNUAL_ATTRITION = 0.12
RISK_TURNOVER_GAIN = 6.0  # hazard multiplier is 1 + gain * risk
RISK_TURNOVER_LAG = 2  # weeks between a team's drift and the first resignations
REPLACEMENT_P = 0.7
GROWTH_PER_HALF_YEAR = 0.04
PRE_PERIOD_WEEKS = 6


@dataclass
class Resignation:
    employee: Employee
    decision_day: date
    last_day: date  # may be after the period end


@dataclass
class Discontent:
    """A stretch of weeks in which a person writes more negatively and may say they want to leave."""

    first_week: int
    last_week: int
    extra_neg: float
    p_leave: float

    def covers(self, week: int) -> bool:
        return self.first_week <= week <= self.last_week


@dataclass
class Turnover:
    resignations: list[Resignation]
    discontent: dict[str, Discontent]  # by e-mail
    hires: list[Employee]


def _hazard(plan: SignalPlan, e: Employee, week: int) -> float:
    risk = plan.teams[e.team].risk_at(week - RISK_TURNOVER_LAG)
    tenure_years = (plan.week_monday(week) - e.hire_date).days / 365
    tenure_factor = 1.5 if tenure_years < 1 else 0.5 if tenure_years > 10 else 1.0
    return ANNUAL_ATTRITION / 52 * tenure_factor * (1 + RISK_TURNOVER_GAIN * risk)


def _last_day(rng: random.Random, decision: date) -> date:
    if rng.random() < 0.75:  # one month's notice to the end of a month
        return last_day_of_month(last_day_of_month(decision) + timedelta(days=1))
    return decision + timedelta(days=rng.randint(14, 35))


def simulate_turnover(rng: random.Random, company: Company, plan: SignalPlan, factory: PersonFactory) -> Turnover:
    start, weeks = plan.start, plan.weeks
    end = start + timedelta(weeks=weeks) - timedelta(days=1)
    resignations: list[Resignation] = []
    discontent: dict[str, Discontent] = {}
    for e in company.employees:
        # From six weeks before the start: people who already resigned leave early in the period.
        for week in range(-PRE_PERIOD_WEEKS, weeks):
            if rng.random() < _hazard(plan, e, week):
                decision = plan.week_monday(week) + timedelta(days=rng.randint(0, 4))
                last_day = _last_day(rng, decision)
                if last_day < start:
                    continue  # left before the period: not part of this roster
                resignations.append(Resignation(e, decision, last_day))
                if last_day <= end:
                    e.termination_date = last_day
                at_risk = plan.teams[e.team].at_risk
                if rng.random() < (0.6 if at_risk else 0.3):
                    last_week = min(weeks - 1, (last_day - start).days // 7)
                    discontent[e.email] = Discontent(
                        first_week=max(0, week - rng.randint(3, 8)), last_week=max(0, last_week),
                        extra_neg=rng.uniform(0.15, 0.3), p_leave=rng.uniform(0.04, 0.1))
                break

    # Disgruntled people who do not leave (in this period): a source of false alarms for individuals,
    # and part of the at-risk teams' mood.
    for e in company.employees:
        if e.email in discontent:
            continue
        team_plan = plan.teams[e.team]
        if team_plan.at_risk and rng.random() < 0.12:
            first = team_plan.onset + team_plan.ramp // 2
            if first < weeks:
                discontent[e.email] = Discontent(first, weeks - 1, rng.uniform(0.1, 0.2), rng.uniform(0.01, 0.04))
        elif not team_plan.at_risk and rng.random() < 0.06 and weeks >= 5:
            first = rng.randrange(0, weeks - 4)
            last = min(weeks - 1, first + rng.randint(3, 6))
            discontent[e.email] = Discontent(first, last, rng.uniform(0.1, 0.2), rng.uniform(0.02, 0.05))

    hires = _hires(rng, company, resignations, factory, start, end)
    return Turnover(resignations, discontent, hires)


def _hires(rng: random.Random, company: Company, resignations: list[Resignation], factory: PersonFactory,
           start: date, end: date) -> list[Employee]:
    hires: list[Employee] = []
    for r in resignations:
        if r.last_day > end or rng.random() >= REPLACEMENT_P:
            continue
        day = snap_start_day(r.last_day + timedelta(days=rng.randint(14, 63)))
        if day <= end - timedelta(days=7):
            hires.append(factory.person(company.team(r.employee.team), day))
    weeks = (end - start).days // 7 + 1
    n_growth = round(len(company.employees) * GROWTH_PER_HALF_YEAR * weeks / 26)
    for _ in range(n_growth):
        team = rng.choices(company.teams, weights=[t.initial_size for t in company.teams])[0]
        day = snap_start_day(start + timedelta(days=rng.randrange(0, max(1, (end - start).days - 10))))
        if day <= end - timedelta(days=7):
            hires.append(factory.person(team, day))
    return hires
