"""The end-of-run summary: where the warehouse is, table sizes and a few headline figures."""

from __future__ import annotations

from pathlib import Path

from pipeline.db import connect, table_counts


def _one(con, sql: str) -> tuple | None:  # noqa: ANN001 - read-only DuckDB connection
    try:
        return con.execute(sql).fetchone()
    except Exception:  # noqa: BLE001 - a mart missing from an older warehouse just drops its headline
        return None


def _all(con, sql: str) -> list[tuple]:  # noqa: ANN001
    try:
        return con.execute(sql).fetchall()
    except Exception:  # noqa: BLE001
        return []


def headline_figures(con) -> list[str]:  # noqa: ANN001 - read-only DuckDB connection
    lines = []
    row = _one(con, """
        SELECT iso_week, participation_rate, net_sentiment, net_sentiment_se, messages, knowledge_sharing_index
        FROM marts.engagement_weekly
        WHERE org_level = 'company' AND NOT suppressed
        ORDER BY week_start DESC LIMIT 1
    """)
    if row:
        lines.append(f"company, latest week {row[0]}: participation {row[1]:.0%}, net sentiment {row[2]:+.1f} "
                     f"(±{1.96 * (row[3] or 0):.1f}), {row[4]} messages, knowledge-sharing index {row[5] or 0:.0f}")
    row = _one(con, """
        SELECT count(*) FILTER (WHERE suppressed), count(*) FILTER (WHERE suppression_reason = 'complementary'), count(*)
        FROM marts.engagement_weekly WHERE org_level = 'team'
    """)
    if row and row[2]:
        lines.append(f"team-weeks suppressed for privacy: {row[0]} of {row[2]} ({row[1]} of them complementary)")
    rows = _all(con, """
        SELECT org_unit, round(risk_index) FROM marts.retention_signals_monthly
        WHERE org_level = 'team' AND risk_index IS NOT NULL
          AND month_start = (SELECT max(month_start) FROM marts.retention_signals_monthly WHERE risk_index IS NOT NULL)
        ORDER BY risk_index DESC, org_unit LIMIT 3
    """)
    if rows:
        lines.append("highest retention risk index, latest month (teams): " + ", ".join(f"{u} {r:.0f}" for u, r in rows))
    rows = _all(con, """
        SELECT theme, round(avg(net_sentiment), 1) AS net, sum(mentions) AS n
        FROM marts.theme_sentiment_weekly
        WHERE org_level = 'company' AND NOT suppressed
        GROUP BY theme HAVING sum(mentions) >= 20
        ORDER BY net ASC LIMIT 3
    """)
    if rows:
        lines.append("most negative themes (company, mean weekly net sentiment): "
                     + ", ".join(f"{t} {n:+.1f} ({m} mentions)" for t, n, m in rows))
    rows = _all(con, """
        SELECT cohort, round(avg(net_sentiment), 1) FROM marts.onboarding_cohorts_monthly
        WHERE org_level = 'company' AND NOT suppressed GROUP BY cohort ORDER BY cohort
    """)
    if len(rows) == 2:
        lines.append("onboarding: mean monthly net sentiment, first 90 days vs tenured: "
                     f"{rows[0][1]:+.1f} vs {rows[1][1]:+.1f}")
    row = _one(con, "SELECT count(*), count(*) FILTER (WHERE direction = 'worse') FROM marts.alerts")
    if row:
        latest = _all(con, "SELECT message_en FROM marts.alerts WHERE direction = 'worse' ORDER BY week_start DESC, org_unit LIMIT 2")
        lines.append(f"alerts: {row[0]} significant changes ({row[1]} worse)"
                     + "".join(f"\n    {m}" for (m,) in latest))
    row = _one(con, """
        SELECT sum(reviews), sum(mean_rating * reviews) FILTER (WHERE mean_rating IS NOT NULL)
                             / sum(reviews) FILTER (WHERE mean_rating IS NOT NULL),
               sum(reviews) FILTER (WHERE employment_status = 'former')
        FROM marts.employer_brand_monthly
    """)
    if row and row[0]:
        rating = (f"mean rating {row[1]:.2f} over the groups with at least k reviews" if row[1] is not None
                  else "every source × month × status × language group has fewer than k reviews, so ratings are suppressed")
        lines.append(f"employer reviews: {row[0]} ({row[2] or 0} by former employees); {rating}")
    return lines


def print_summary(db_path: Path, timings: dict[str, float] | None = None, seconds: float | None = None) -> None:
    with connect(db_path, read_only=True) as con:
        counts = table_counts(con, ("raw", "nlp", "marts", "quarantine", "quality"))
        figures = headline_figures(con)
    print()
    print(f"Warehouse: {db_path}")
    if seconds is not None:
        print(f"Pipeline wall time: {seconds:.1f} s" + (f"  ({', '.join(f'{k} {v}s' for k, v in timings.items())})" if timings else ""))
    print("Tables (rows):")
    for name, n in counts.items():
        print(f"  {name:<42} {n:>8}")
    if figures:
        print("Headlines:")
        for line in figures:
            print(f"  {line}")
    print(f"\nQuery it read-only:  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{db_path}', read_only=True).sql('FROM marts.engagement_weekly LIMIT 5'))\"")
    print("Column meanings: docs/marts.md (or SELECT * FROM marts.data_dictionary)")
