"""``simulate_company``: a seeded, realistic Danish company with ground truth, written to a folder.

Output folder::

    roster.csv    employee_id,name,email,department,team,hire_date,termination_date
    slack/        Slack workspace export (users.json, channels.json, <channel>/<YYYY-MM-DD>.json)
    posts.csv     post_id,author_id,channel,created_at,text,reactions,parent_id (intranet comments,
                  Microsoft Teams chat of departments without Slack, pulse-survey free text)
    reviews.csv   public employer reviews
    truth.json    planted at-risk teams, sentiment drops, leavers, parameters, team -> department
    labels.csv    per-post ground truth (intent, sentiment, themes, leave intent, PII kinds) for evaluation

Randomness comes from independent streams per stage, derived from the seed by name, so changing one
stage (say, reviews) does not reshuffle the others; no set or hash order leaks into the output.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.simulate.activity import ActivitySimulator
from pipeline.simulate.data import intents, org_data
from pipeline.simulate.dk_calendar import is_holiday_week, iso_week_label
from pipeline.simulate.lifecycle import Turnover, simulate_turnover
from pipeline.simulate.org import MIN_EMPLOYEES, Company, PersonFactory, initial_roster, plan_teams
from pipeline.simulate.posts import Post
from pipeline.simulate.reviews import REVIEW_COLUMNS, generate_reviews
from pipeline.simulate.signals import SignalPlan, plan_signals, truth_drops
from pipeline.simulate.slack_export import SlackExportWriter, assign_slack_ids
from pipeline.simulate.writers import (
    assign_csv_ids,
    write_csv,
    write_json,
    write_labels,
    write_posts,
    write_roster,
)

# A fixed default so that "same seed + args" means the same bytes on any day; 26 weeks from here
# cover the summer holiday (weeks 29-31), the autumn break and the run-up to Christmas.
DEFAULT_START = date(2025, 6, 30)
MAX_EMPLOYEES = 5000
MAX_WEEKS = 104
WARNING_WINDOW_DAYS = 84
WARNING_THEMES = frozenset({"workload", "management", "pay", "retention", "work_life_balance"})
OUTPUT_FILES = ("roster.csv", "posts.csv", "reviews.csv", "truth.json", "labels.csv")


def _stream(seed: int, stage: str) -> random.Random:
    return random.Random(f"stemning-simulate:{seed}:{stage}")


def _check_args(employees: int, weeks: int, activity: float) -> None:
    if not MIN_EMPLOYEES <= employees <= MAX_EMPLOYEES:
        raise ValueError(f"--employees must be between {MIN_EMPLOYEES} and {MAX_EMPLOYEES} (got {employees})")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"--weeks must be between 1 and {MAX_WEEKS} (got {weeks})")
    if not 0 < activity <= 10:
        raise ValueError(f"--activity must be in (0, 10] (got {activity})")


def _prepare_out(out: Path) -> None:
    """Create ``out``; replace a previous simulator export in it, never unrelated files."""
    out.mkdir(parents=True, exist_ok=True)
    slack = out / "slack"
    if slack.exists():
        if not (slack / "channels.json").is_file():
            raise FileExistsError(f"{slack} exists and is not a Slack export written by the simulator; "
                                  "choose another --out folder")
        shutil.rmtree(slack)


def had_warning_signs(posts_by_author: dict[str, list[Post]], employee_id: str, last_day: date) -> bool:
    """Leave intent voiced (other than the formal resignation) or >= 2 negative posts about workload,
    management, pay, retention or work-life balance in the 12 weeks before the last day."""
    window_start = last_day - timedelta(days=WARNING_WINDOW_DAYS)
    recent = [p for p in posts_by_author.get(employee_id, []) if window_start <= p.at.date() <= last_day]
    if any(p.leave_intent and p.intent != "resignation" for p in recent):
        return True
    return sum(1 for p in recent if p.sentiment == "negative" and WARNING_THEMES & set(p.themes)) >= 2


def _truth(company: Company, plan: SignalPlan, turnover: Turnover, posts: list[Post], seed: int,
           params: dict[str, Any]) -> dict[str, Any]:
    by_author: dict[str, list[Post]] = {}
    for p in posts:
        by_author.setdefault(p.author.employee_id, []).append(p)
    leavers = sorted((e for e in company.employees if e.termination_date), key=lambda e: (e.termination_date, e.employee_id))
    end = plan.start + timedelta(weeks=plan.weeks) - timedelta(days=1)
    departments: dict[str, list[str]] = {}
    for t in company.teams:
        departments.setdefault(t.department, []).append(t.name)
    team_plans = plan.teams
    return {
        "seed": seed,
        "parameters": params,
        "company": company.name,
        "period": {"start": plan.start.isoformat(), "end": end.isoformat(),
                   "first_week": iso_week_label(plan.start), "last_week": iso_week_label(end)},
        "at_risk_units": plan.at_risk_units(),
        "at_risk_details": [
            {"unit": name, "onset_week": iso_week_label(plan.week_monday(p.onset)), "ramp_weeks": p.ramp,
             "severity": round(p.severity, 3)}
            for name, p in sorted(team_plans.items()) if p.at_risk],
        "drops": truth_drops(plan),
        "leavers": [
            {"employee_id": e.employee_id, "team": e.team, "termination_date": e.termination_date.isoformat(),
             "had_warning_signs": had_warning_signs(by_author, e.employee_id, e.termination_date),
             "team_at_risk": team_plans[e.team].at_risk}
            for e in leavers if e.termination_date],
        "resigned_after_period": sorted(r.employee.employee_id for r in turnover.resignations if r.last_day > end),
        "hires": sorted(({"employee_id": e.employee_id, "team": e.team, "hire_date": e.hire_date.isoformat()}
                         for e in company.employees if e.hire_date >= plan.start), key=lambda h: h["employee_id"]),
        "noise": {
            "one_off_negative_weeks": sorted(
                ({"unit": name, "week": iso_week_label(plan.week_monday(w))}
                 for name, p in team_plans.items() for w in p.one_off_weeks), key=lambda x: (x["week"], x["unit"])),
            "busy_periods": sorted(
                ({"unit": name, "first_week": iso_week_label(plan.week_monday(p.busy_weeks[0])),
                  "weeks": len(p.busy_weeks)} for name, p in team_plans.items() if p.busy_weeks),
                key=lambda x: (x["first_week"], x["unit"])),
            "holiday_weeks": [iso_week_label(plan.week_monday(w)) for w in range(plan.weeks)
                              if is_holiday_week(plan.week_monday(w))],
        },
        "team_department": {t.name: t.department for t in company.teams},
        "hierarchy": {"company": company.name, "departments": departments},
        "team_sizes_at_start": {t.name: t.initial_size for t in company.teams},
        "team_chat": {t.name: t.chat for t in company.teams},
    }


def simulate_company(employees: int, weeks: int, seed: int, out: Path, start: date | None = None, *,
                     activity: float = 1.0, progress: Callable[[str], None] | None = None) -> Path:
    """Simulate ``employees`` people over ``weeks`` weeks from ``start`` (snapped to its Monday) into ``out``.

    ``activity`` scales how much people post (1.0 is about two posts, replies included, per person-week).
    Returns ``out``. Raises ValueError on arguments outside the supported range.
    """
    _check_args(employees, weeks, activity)
    step = progress or (lambda _stage: None)
    first_day = start or DEFAULT_START
    first_day -= timedelta(days=first_day.weekday())
    out = Path(out)
    _prepare_out(out)
    org = org_data()

    step("organisation")
    company = Company(org["company"]["name"], org["company"]["domain"], plan_teams(_stream(seed, "teams"), employees))
    factory = PersonFactory(_stream(seed, "people"), company.domain)
    initial_roster(_stream(seed, "tenure"), company, factory, first_day)
    plan = plan_signals(_stream(seed, "signals"), company.teams, first_day, weeks)
    turnover = simulate_turnover(_stream(seed, "turnover"), company, plan, factory)
    company.employees.extend(turnover.hires)
    for i, e in enumerate(sorted(company.employees, key=lambda e: (e.hire_date, e.email)), start=10001):
        e.employee_id = f"E{i}"
    assign_slack_ids(_stream(seed, "slack-ids"), company, taken=set())

    step("posts")
    posts = ActivitySimulator(_stream(seed, "posts"), company, plan, turnover, activity).run()

    step("slack export")
    end = first_day + timedelta(weeks=weeks) - timedelta(days=1)
    slack_writer = SlackExportWriter(_stream(seed, "slack"), company, org["company"]["slack_team_id"], first_day, end)
    slack_stats = slack_writer.write(out / "slack", posts)

    step("csv files")
    write_roster(out / "roster.csv", company)
    csv_posts = assign_csv_ids(posts)
    write_posts(out / "posts.csv", csv_posts)
    reviews = generate_reviews(_stream(seed, "reviews"), company, plan, turnover, org)
    write_csv(out / "reviews.csv", REVIEW_COLUMNS, reviews)
    hard_negatives = {i.id for i in intents().values() if i.hard_negative}
    write_labels(out / "labels.csv", posts, hard_negatives)

    step("truth")
    params = {"employees": employees, "weeks": weeks, "start": first_day.isoformat(), "activity": activity,
              "posts_total": len(posts), "posts_slack": slack_stats["slack_messages"], "posts_csv": len(csv_posts),
              "reviews": len(reviews)}
    write_json(out / "truth.json", _truth(company, plan, turnover, posts, seed, params))
    return out
