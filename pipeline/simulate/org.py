"""The simulated company's structure and people: departments, teams of varied size, employees.

Hierarchy: team -> department -> company. Team names are unique in the company so a team name is
enough to identify an org unit (truth.json and the marts use it).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pipeline.simulate.data import name_data, org_data

# Team sizes at the start of the period: ordinary teams are 5-25 people, "small" teams 3-4.
MIN_TEAM, MAX_TEAM, SMALL_SIZES = 5, 25, (3, 4)
MIN_EMPLOYEES = 20
# Languages: a Dane writes Danish at work most of the time, less so in tech teams; most
# international colleagues write English.
P_DANISH_TEXT = {"dane": 0.87, "dane_tech": 0.75, "international": 0.1}
TECH_DEPARTMENTS = frozenset({"Udvikling", "IT"})
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ß": "ss", "ł": "l", "ı": "i", "'": ""})


def ascii_slug(text: str, sep: str = "-") -> str:
    """``Data & Analytics`` -> ``data-analytics``; ``Søren`` -> ``soeren``."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)


@dataclass
class Team:
    name: str
    department: str
    chat: str  # "slack" or "teams"
    initial_size: int

    @property
    def slug(self) -> str:
        return ascii_slug(self.name)


@dataclass(eq=False)  # identity semantics: two people are never "equal"
class Employee:
    first_name: str
    last_name: str
    email: str
    department: str
    team: str
    hire_date: date
    danish: bool
    p_danish_text: float
    activity: float  # mean top-level posts per week when fully engaged
    grumpiness: float  # personal shift of the negative share
    termination_date: date | None = None
    employee_id: str = ""
    slack_id: str | None = None
    is_manager: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def employed_on(self, day: date) -> bool:
        return self.hire_date <= day and (self.termination_date is None or day <= self.termination_date)


@dataclass
class Company:
    name: str
    domain: str
    teams: list[Team]
    employees: list[Employee] = field(default_factory=list)

    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    def department_of(self) -> dict[str, str]:
        return {t.name: t.department for t in self.teams}


def _largest_remainder(total: int, weights: list[float], caps: list[int]) -> list[int]:
    """Split ``total`` into integers >= 1 proportional to ``weights``, each at most its cap."""
    counts = [1] * len(weights)
    while sum(counts) < total:
        open_idx = [i for i in range(len(weights)) if counts[i] < caps[i]]
        if not open_idx:
            break
        # Give the next team to the department furthest below its proportional share.
        wsum = sum(weights[i] for i in open_idx)
        left = total - sum(counts) + sum(counts[i] for i in open_idx)
        i = max(open_idx, key=lambda j: (weights[j] / wsum * left - counts[j], -j))
        counts[i] += 1
    return counts


def plan_teams(rng: random.Random, n_employees: int) -> list[Team]:
    """Pick departments and teams for ``n_employees`` and give every team a starting size."""
    depts: list[dict[str, Any]] = org_data()["departments"]
    n_teams = max(3, round(n_employees / 9.5))
    n_depts = min(len(depts), max(3, round(1.3 * math.sqrt(n_teams))))
    chosen = depts[:n_depts] if n_depts < 4 else [*depts[: n_depts - 1], depts[-1]]
    n_teams = min(n_teams, sum(len(d["teams"]) for d in chosen))
    per_dept = _largest_remainder(n_teams, [float(d["weight"]) for d in chosen], [len(d["teams"]) for d in chosen])

    # A few small teams so that suppression of groups < 5 is exercised; the leadership team is small.
    n_small = 1 if n_teams < 6 else 2 if n_teams < 20 else 3
    small_depts = {d["name"] for d in chosen if d["name"] == "Ledelse"}
    candidates = [d["name"] for d, k in zip(chosen, per_dept, strict=True) if k >= 2 and d["name"] != "Ledelse"]
    rng.shuffle(candidates)
    small_depts.update(candidates[: max(0, n_small - len(small_depts))])

    slots: list[tuple[str, str, bool]] = []  # (department, team name, small)
    for dept, k in zip(chosen, per_dept, strict=True):
        small_names = [t for t in dept["teams"] if t in dept["small_teams"]]
        regular_names = [t for t in dept["teams"] if t not in dept["small_teams"]]
        n_dept_small = min(k, len(small_names), 1 if dept["name"] != "Ledelse" else k) if dept["name"] in small_depts else 0
        names = small_names[:n_dept_small] + (regular_names + small_names[n_dept_small:])[: k - n_dept_small]
        slots.extend((dept["name"], name, i < n_dept_small) for i, name in enumerate(names))

    sizes = _team_sizes(rng, n_employees, [small for _, _, small in slots])
    chat = {d["name"]: d["chat"] for d in chosen}
    return [Team(name, dept, chat[dept], size) for (dept, name, _), size in zip(slots, sizes, strict=True)]


def _team_sizes(rng: random.Random, total: int, small: list[bool]) -> list[int]:
    sizes = [rng.choice(SMALL_SIZES) if s else 0 for s in small]
    regular = [i for i, s in enumerate(small) if not s]
    upper = max(MAX_TEAM, math.ceil(total / max(1, len(regular)) * 1.8))
    mean = max(MIN_TEAM, (total - sum(sizes)) / max(1, len(regular)))
    for i in regular:
        sizes[i] = min(upper, max(MIN_TEAM, round(rng.lognormvariate(math.log(mean), 0.5))))
    # Nudge random teams up or down, within bounds, until the head count is exact.
    while sum(sizes) != total:
        step = 1 if sum(sizes) < total else -1
        movable = [i for i in regular if MIN_TEAM <= sizes[i] + step <= upper]
        if not movable:
            movable = [i for i in range(len(sizes)) if 2 <= sizes[i] + step <= upper]
        sizes[rng.choice(movable)] += step
    return sizes


class PersonFactory:
    """Creates people with realistic names, unique e-mail addresses and posting habits."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng = rng
        self.domain = domain
        self.names = name_data()
        self._emails: set[str] = set()

    def _name(self) -> tuple[str, str, bool]:
        dk = self.names["danish"]
        if self.rng.random() < dk["share"]:
            first = self.rng.choice(self.rng.choice(dk["first"]))
            last = self.rng.choice(dk["last"])
            if self.rng.random() < dk["middle_share"]:
                last = f"{self.rng.choice(dk['last'])} {last}"
            return first, last, True
        groups = self.names["international"]
        group = self.rng.choices(groups, weights=[g["weight"] for g in groups])[0]
        return self.rng.choice(self.rng.choice(group["first"])), self.rng.choice(group["last"]), False

    def _email(self, first: str, last: str) -> str:
        parts = last.split()
        base = f"{ascii_slug(first, '')}.{ascii_slug(parts[-1], '')}"
        candidates = [base]
        if len(parts) > 1:
            candidates.append(f"{ascii_slug(first, '')}.{ascii_slug(parts[0], '')[0]}.{ascii_slug(parts[-1], '')}")
        candidates += [f"{base}{n}" for n in range(2, 100)]
        local = next(c for c in candidates if c not in self._emails)
        self._emails.add(local)
        return f"{local}@{self.domain}"

    def person(self, team: Team, hire_date: date) -> Employee:
        first, last, danish = self._name()
        if danish:
            p_da = P_DANISH_TEXT["dane_tech" if team.department in TECH_DEPARTMENTS else "dane"]
        else:
            p_da = P_DANISH_TEXT["international"] * (3 if self.rng.random() < 0.2 else 1)
        return Employee(
            first_name=first,
            last_name=last,
            email=self._email(first, last),
            department=team.department,
            team=team.name,
            hire_date=hire_date,
            danish=danish,
            p_danish_text=min(0.97, max(0.02, self.rng.gauss(p_da, 0.06))),
            # Gamma-distributed habits: many occasional posters, a few very active ones.
            activity=self.rng.gammavariate(1.4, 1.0 / 1.4),
            grumpiness=self.rng.gauss(0.0, 0.03),
        )


def snap_start_day(day: date) -> date:
    """People start on a Monday or on the 1st of a month (whichever comes first), never on a holiday."""
    monday = day + timedelta(days=(7 - day.weekday()) % 7)
    first = date(day.year + day.month // 12, day.month % 12 + 1, 1) if day.day != 1 else day
    start = min(monday, first)
    while start.weekday() >= 5:
        start += timedelta(days=1)
    return start


def initial_roster(rng: random.Random, company: Company, factory: PersonFactory, start: date) -> None:
    """Staff every team at its starting size with tenures from weeks to decades."""
    for team in company.teams:
        members = []
        for _ in range(team.initial_size):
            if rng.random() < 0.08:  # recent hires, so onboarding cohorts exist from week one
                tenure_days = rng.randint(14, 120)
            else:
                tenure_days = min(30 * 365, int(rng.expovariate(1 / (5.5 * 365))) + 121)
            hire = snap_start_day(start - timedelta(days=tenure_days))
            if hire >= start:
                hire -= timedelta(days=7)
            members.append(factory.person(team, hire))
        # The longest-serving member leads the team (used for {manager} in texts).
        min(members, key=lambda e: (e.hire_date, e.email)).is_manager = True
        company.employees.extend(members)
