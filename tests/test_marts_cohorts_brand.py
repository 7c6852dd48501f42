"""onboarding_cohorts_monthly and employer_brand_monthly on hand-made rows (numbers worked out by hand)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.marts import build_marts
from tests.fixtures.marts_data import NEGATIVE, NEUTRAL, POSITIVE, Warehouse, monday


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    """k = k_text = 3.

    Team T (department D): 3 tenured people (hired 2020) and 3 hired on 1 February 2026 (< 90 days before
    1 March). In March each new hire writes one negative message; each tenured person one positive and
    one neutral message. Team U: 3 tenured people, one neutral message each.

    Reviews (glassdoor, Fjordlys, March 2026, current, Danish): ratings 5, 2, 4 with
      r1 pros positive [pay, culture], cons neutral [workload]   → review probs (.15, .4, .45): positive, +0.3
      r2 pros neutral [pay],           cons negative [workload]  → (.45, .4, .15): negative, −0.3
      r3 pros positive [culture],      cons neutral [management] → positive, +0.3
    plus one English review in the same month (its own, suppressed group).
    """
    settings = get_settings(db_path=tmp_path_factory.mktemp("cb") / "w.duckdb", min_group_size=3,
                            min_group_size_text=3)
    with connect(settings.db_path) as con:
        w = Warehouse(con)
        tenured = w.team("D", "T", 3)
        new = [w.employee(f"new-{i}", "D", "T", hire=date(2026, 2, 1)) for i in range(3)]
        others = w.team("D", "U", 3)
        for i, person in enumerate(new):
            w.post(person, monday(2026, 11, day=i), NEGATIVE)
        for i, person in enumerate(tenured):
            w.post(person, monday(2026, 11, day=i), POSITIVE)
            w.post(person, monday(2026, 12, day=i), NEUTRAL)
        for i, person in enumerate(others):
            w.post(person, monday(2026, 11, day=i), NEUTRAL)
        when = monday(2026, 11)
        w.review("glassdoor", "Fjordlys", when, 5, "current",
                 {"pros": (POSITIVE, "da", ("pay", "culture")), "cons": (NEUTRAL, "da", ("workload",))})
        w.review("glassdoor", "Fjordlys", when, 2, "current",
                 {"pros": (NEUTRAL, "da", ("pay",)), "cons": (NEGATIVE, "da", ("workload",))})
        w.review("glassdoor", "Fjordlys", when, 4, "current",
                 {"pros": (POSITIVE, "da", ("culture",)), "cons": (NEUTRAL, "da", ("management",))})
        w.review("glassdoor", "Fjordlys", when, 1, "current", {"text": (NEGATIVE, "en", ())})
        build_marts(con, settings)
        cohorts = con.execute("SELECT * FROM marts.onboarding_cohorts_monthly").df()
        brand = con.execute("SELECT * FROM marts.employer_brand_monthly").df()
        retention = con.execute("SELECT * FROM marts.retention_signals_monthly").df()
    return cohorts, brand, retention


def _cohort(rows, unit, cohort):  # noqa: ANN001, ANN202
    match = rows[(rows.org_unit == unit) & (rows.cohort == cohort) & (rows.month == "2026-03")]
    assert len(match) == 1
    return match.iloc[0]


def test_new_hires_vs_tenured(marts):
    cohorts, _, _ = marts
    # Every team-level cohort row is hidden (see below), so the figures are read at department level:
    # D's new hires are T's three; D's tenured are T's three and U's three.
    new, tenured = _cohort(cohorts, "D", "first_90_days"), _cohort(cohorts, "D", "tenured")
    assert (new.headcount, new.active_posters, new.messages) == (3, 3, 3)
    assert (new.participation_rate, new.mean_sentiment, new.net_sentiment) == (1.0, pytest.approx(-0.6), -100.0)
    assert new.mean_sentiment_se == 0.0 and new.net_sentiment_se == 0.0
    # Tenured scores [+0.6 ×3, 0 ×6]: mean 0.2, sample variance 0.72/8 → se √(0.09/9) = 0.1;
    # net (3 − 0)/9 × 100, se 100·√((3/9 − (3/9)²)/9).
    assert (tenured.headcount, tenured.active_posters, tenured.messages) == (6, 6, 9)
    assert tenured.mean_sentiment == pytest.approx(0.2)
    assert tenured.mean_sentiment_se == pytest.approx(0.1, abs=1e-4)
    assert tenured.net_sentiment == pytest.approx(100 / 3, abs=1e-3)
    assert tenured.net_sentiment_se == pytest.approx(100 * math.sqrt((1 / 3 - 1 / 9) / 9), abs=1e-3)


def test_cohorts_aggregate_up_the_hierarchy(marts):
    cohorts, _, _ = marts
    company_new = _cohort(cohorts, "company", "first_90_days")
    assert (company_new.headcount, company_new.net_sentiment) == (3, -100.0)
    # Team U has no new hires: its row exists but is hidden; so is T's (else D − T would reveal U).
    u_new, t_new = _cohort(cohorts, "U", "first_90_days"), _cohort(cohorts, "T", "first_90_days")
    assert u_new.suppression_reason == "headcount_below_k" and pd.isna(u_new.headcount)
    assert t_new.suppression_reason == "complementary" and pd.isna(t_new.mean_sentiment)
    # T's tenured row is hidden too: T's monthly total is published in retention_signals_monthly, and
    # total − tenured would give T's hidden new-hire figures back.
    assert _cohort(cohorts, "T", "tenured").suppression_reason == "complementary"


def test_cohort_split_cannot_be_differenced_against_the_unit_totals(marts):
    cohorts, _, retention = marts
    merged = cohorts.merge(retention[["org_level", "org_unit", "month", "suppressed"]],
                           on=["org_level", "org_unit", "month"], suffixes=("", "_total"))
    hidden = merged.groupby(["org_level", "org_unit", "month"]).agg(
        cohorts_hidden=("suppressed", "sum"), total_hidden=("suppressed_total", "first"))
    unknowns = hidden.cohorts_hidden + hidden.total_hidden.astype(int)
    assert not (unknowns == 1).any()  # total = new + tenured never has exactly one unknown


def test_employer_brand_figures(marts):
    _, brand, _ = marts
    da = brand[brand.language == "da"].iloc[0]
    assert (da.source, da.company, da.month, da.employment_status, da.reviews) == ("glassdoor", "Fjordlys", "2026-03", "current", 3)
    assert da.mean_rating == pytest.approx(11 / 3, abs=1e-4)
    # ratings 5, 2, 4: squared deviations from 11/3 sum to 14/3 → var 7/3 → se √(7/9).
    assert da.mean_rating_se == pytest.approx(math.sqrt(7 / 9), abs=1e-4)
    assert (da.ratings_1, da.ratings_2, da.ratings_3, da.ratings_4, da.ratings_5) == (0, 1, 0, 1, 1)
    assert da.mean_sentiment == pytest.approx(0.1, abs=1e-4)
    assert (da.pct_positive, da.pct_negative) == (pytest.approx(2 / 3, abs=1e-4), pytest.approx(1 / 3, abs=1e-4))
    assert da.net_sentiment == pytest.approx(100 / 3, abs=1e-3)
    assert da.net_sentiment_se == pytest.approx(100 * math.sqrt((1 - (1 / 3) ** 2) / 3), abs=1e-3)
    # pros: pay 2, culture 2 (tie → by name); cons: workload 2, management 1.
    assert (da.top_themes_pros, da.top_themes_cons) == ("culture;pay", "workload;management")
    assert not da.suppressed and pd.isna(da.suppression_reason)


def test_small_review_groups_keep_their_count_only(marts):
    _, brand, _ = marts
    en = brand[brand.language == "en"].iloc[0]
    assert en.reviews == 1 and en.suppressed and en.suppression_reason == "reviews_below_k"
    assert pd.isna(en.mean_rating) and pd.isna(en.ratings_1) and pd.isna(en.top_themes_cons)
