"""Public employer reviews of the company (and a competitor, for benchmarking), in Danish and English.

Former employees rate lower than current ones; some people who left write a review within weeks of
their last day, and those from at-risk teams are harsher (workload, management, turnover).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from pipeline.simulate.data import review_data
from pipeline.simulate.dk_calendar import copenhagen
from pipeline.simulate.lifecycle import Turnover
from pipeline.simulate.org import Company
from pipeline.simulate.signals import SignalPlan

REVIEW_COLUMNS = ("review_id", "source", "company", "created_at", "rating", "title", "pros", "cons", "text",
                  "employment_status", "job_title", "location")
RATING_WEIGHTS = {"current": (5, 10, 20, 40, 25), "former": (20, 25, 25, 20, 10)}
HARSH_CONS = ("workload", "management", "retention", "pay")
P_DANISH = 0.6


def _band(rating: int) -> str:
    return "high" if rating >= 4 else "mid" if rating == 3 else "low"


def _sentence(rng: random.Random, by_theme: dict[str, list[str]], themes: tuple[str, ...] | None = None) -> str:
    theme = rng.choice(list(themes or by_theme))
    return rng.choice(by_theme[theme])


def _review(rng: random.Random, company: str, day: date, status: str, rating: int, lang: str,
            job_title: str, location: str, cons_themes: tuple[str, ...] | None) -> dict[str, Any]:
    texts = review_data()[lang]
    band = _band(rating)
    pros = " ".join(_sentence(rng, texts["pros"]) for _ in range(rng.randint(1, 2)))
    cons = " ".join(_sentence(rng, texts["cons"], cons_themes) for _ in range(rng.randint(1, 2)))
    if band == "high" and rng.random() < 0.3:
        cons = rng.choice(["Ingen store minusser.", "Travlt i perioder."] if lang == "da"
                          else ["Nothing major.", "Busy at times."])

    def fill(template: str) -> str:
        cons_sentence = _sentence(rng, texts["cons"], cons_themes)
        return (template.replace("{company}", company)
                .replace("{pros_sentence}", _sentence(rng, texts["pros"]))
                .replace("{cons_sentence_lc}", cons_sentence[0].lower() + cons_sentence[1:])
                .replace("{cons_sentence}", cons_sentence))

    at = datetime.combine(day, time(rng.randint(7, 23), rng.randrange(60), rng.randrange(60)))
    return {
        "source": rng.choices(list(review_data()["sources"]), weights=list(review_data()["sources"].values()))[0],
        "company": company,
        "created_at": copenhagen(at).isoformat(timespec="seconds"),
        "rating": rating,
        "title": rng.choice(texts["titles"][band]),
        "pros": pros,
        "cons": cons,
        # Many reviews have no free text beyond pros and cons.
        "text": fill(rng.choice(texts["text"][band])) if rng.random() < 0.7 else "",
        "employment_status": status,
        "job_title": job_title,
        "location": location,
    }


def generate_reviews(rng: random.Random, company: Company, plan: SignalPlan, turnover: Turnover,
                     org: dict[str, Any]) -> list[dict[str, Any]]:
    start, weeks = plan.start, plan.weeks
    end = start + timedelta(weeks=weeks) - timedelta(days=1)
    n_days = (end - start).days + 1
    titles = {d["name"]: d["titles"] for d in org["departments"]}
    departments = sorted({t.department for t in company.teams}, key=[d["name"] for d in org["departments"]].index)
    locations = org["company"]["locations"]
    competitors = org["company"]["competitors"]
    n_general = max(12, round(len(company.employees) * weeks / 35))

    reviews: list[dict[str, Any]] = []
    for _ in range(n_general):
        status = "former" if rng.random() < 0.4 else "current"
        reviewed = rng.choice(competitors) if rng.random() < 0.2 else company.name
        rating = rng.choices(range(1, 6), weights=RATING_WEIGHTS[status])[0]
        dept = rng.choice(departments)
        reviews.append(_review(rng, reviewed, start + timedelta(days=rng.randrange(n_days)), status, rating,
                               "da" if rng.random() < P_DANISH else "en", rng.choice(titles[dept]),
                               rng.choice(locations), None))

    # Some leavers review their former employer soon after leaving.
    for r in turnover.resignations:
        e = r.employee
        at_risk = plan.teams[e.team].at_risk
        if e.termination_date is None or rng.random() >= (0.35 if at_risk else 0.12):
            continue
        day = e.termination_date + timedelta(days=rng.randint(3, 56))
        if day > end:
            continue
        rating = rng.choices(range(1, 6), weights=(35, 35, 20, 8, 2) if at_risk else RATING_WEIGHTS["former"])[0]
        lang = "da" if rng.random() < e.p_danish_text else "en"
        reviews.append(_review(rng, company.name, day, "former", rating, lang, rng.choice(titles[e.department]),
                               rng.choice(locations), HARSH_CONS if at_risk else None))

    reviews.sort(key=lambda rv: (rv["created_at"], rv["company"], rv["title"]))
    counters: dict[str, int] = {}
    for rv in reviews:
        counters[rv["source"]] = counters.get(rv["source"], 0) + 1
        rv["review_id"] = f"{rv['source'][:2].upper()}-{counters[rv['source']]:06d}"
    return reviews
