"""The end-of-run summary: where the warehouse is, table sizes and a few headline figures."""

from __future__ import annotations

from pathlib import Path

from pipeline.db import connect, table_counts


def headline_figures(con) -> list[str]:  # noqa: ANN001 - read-only DuckDB connection
    lines = []
    row = con.execute(
        """
        SELECT iso_week, participation_rate, net_sentiment, posts
        FROM marts.engagement_weekly
        WHERE org_level = 'company' AND NOT suppressed
        ORDER BY week_start DESC LIMIT 1
        """
    ).fetchone()
    if row:
        lines.append(f"company, latest week {row[0]}: participation {row[1]:.0%}, net sentiment {row[2]:+.1f}, {row[3]} posts")
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE suppressed), count(*)
        FROM marts.engagement_weekly WHERE org_level = 'team'
        """
    ).fetchone()
    if row and row[1]:
        lines.append(f"team-weeks suppressed for privacy (k-anonymity): {row[0]} of {row[1]}")
    rows = con.execute(
        """
        SELECT org_unit, avg(net_sentiment) AS net
        FROM marts.engagement_weekly
        WHERE org_level = 'team' AND NOT suppressed
        GROUP BY org_unit HAVING count(*) >= 2
        ORDER BY net ASC LIMIT 3
        """
    ).fetchall()
    if rows:
        lines.append("lowest average net sentiment (teams): " + ", ".join(f"{u} {n:+.1f}" for u, n in rows))
    row = con.execute(
        """
        SELECT sum(reviews), sum(mean_rating * reviews) / sum(reviews) FILTER (WHERE mean_rating IS NOT NULL)
        FROM marts.employer_brand_monthly
        """
    ).fetchone()
    if row and row[0]:
        lines.append(f"employer reviews: {row[0]}, mean rating (unsuppressed groups) {row[1] or float('nan'):.2f}")
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
