"""Complementary (secondary) suppression over the org hierarchy company → department → team.

Primary suppression hides a cell whose group is smaller than k. That alone is not enough: additive
figures (headcount, posts, leavers, sums behind every mean and rate) satisfy ``parent = Σ children``,
so a single hidden team can be recovered as ``department − published teams``. This module hides
further cells until no hidden cell can be recovered from any such equation, and until every set of
hidden siblings under a published parent covers at least k people together (otherwise the residual
``parent − published siblings`` describes a group smaller than k).

The equations of a hierarchy form a tree, so "recoverable" is exactly "some equation has a single
unknown"; the loop below peels those until none is left.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import pandas as pd

COMPLEMENTARY = "complementary"
LEVEL_PARENT = {"team": "department", "department": "company", "company": None}


@dataclass
class _Node:
    key: tuple[str, str]  # (org_level, org_unit)
    size: float
    suppressed: bool
    children: list[tuple[str, str]] = field(default_factory=list)


def _equations(nodes: dict[tuple[str, str], _Node]) -> list[tuple[tuple[str, str], list[tuple[str, str]]]]:
    return [(key, node.children) for key, node in nodes.items() if node.children]


def _pick_smallest(nodes: dict[tuple[str, str], _Node], candidates: list[tuple[str, str]]) -> tuple[str, str]:
    # Least information lost: the smallest group, ties broken by name for a deterministic result.
    return min(candidates, key=lambda k: (nodes[k].size, k[1]))


def _protect(nodes: dict[tuple[str, str], _Node], k: float) -> set[tuple[str, str]]:
    """Hide cells until every equation is safe; return the keys hidden here (secondary cells)."""
    added: set[tuple[str, str]] = set()
    equations = _equations(nodes)
    changed = True
    while changed:
        changed = False
        for parent, children in equations:
            hidden_children = [c for c in children if nodes[c].suppressed]
            published_children = [c for c in children if not nodes[c].suppressed]
            unknowns = hidden_children + ([parent] if nodes[parent].suppressed else [])
            residual_too_small = (
                not nodes[parent].suppressed
                and hidden_children
                and sum(nodes[c].size for c in hidden_children) < k
            )
            if len(unknowns) != 1 and not residual_too_small:
                continue
            target = _pick_smallest(nodes, published_children) if published_children else parent
            if nodes[target].suppressed:  # only child and parent are the same group: nothing to add
                continue
            nodes[target].suppressed = True
            added.add(target)
            changed = True
    return added


def complementary_suppression(
    cells: pd.DataFrame,
    k: float,
    size_column: str,
    reason_column: str = "suppression_reason",
    partition_columns: Sequence[str] = ("week_start",),
) -> pd.Series:
    """Return the final suppression reason of every cell (same index as ``cells``).

    ``cells`` has one row per (org_level, org_unit, partition…) with ``parent_unit``, the people count
    ``size_column`` (the group the figures describe) and the primary reason (NULL when published).
    Cells hidden only to protect others get the reason ``complementary``.
    """
    reasons = cells[reason_column].astype(object).where(cells[reason_column].notna(), None)
    if cells.empty:
        return reasons
    part_cols = list(partition_columns)
    grouped = cells.groupby(part_cols, dropna=False, sort=False) if part_cols else [((), cells)]
    for _, part in grouped:
        nodes: dict[tuple[str, str], _Node] = {}
        index_of: dict[tuple[str, str], Hashable] = {}
        for idx, row in part.iterrows():
            key = (row["org_level"], row["org_unit"])
            size = row[size_column]
            nodes[key] = _Node(key, 0.0 if pd.isna(size) else float(size), reasons.at[idx] is not None)
            index_of[key] = idx
        for _, row in part.iterrows():
            parent_level = LEVEL_PARENT.get(row["org_level"])
            parent_key = (parent_level, row["parent_unit"]) if parent_level else None
            if parent_key in nodes:
                nodes[parent_key].children.append((row["org_level"], row["org_unit"]))
        for key in _protect(nodes, k):
            reasons.at[index_of[key]] = COMPLEMENTARY
    return reasons


def apply_complementary_suppression(
    con,  # noqa: ANN001 - DuckDB connection
    table: str,
    k: float,
    size_column: str,
    partition_columns: Sequence[str],
    reason_column: str = "suppression_reason",
) -> int:
    """Update ``table`` (a temp work table) in place; return how many cells were newly hidden."""
    keys = ["org_level", "org_unit", *partition_columns]
    cells = con.execute(
        f"SELECT org_level, org_unit, parent_unit, {', '.join(partition_columns)}, {size_column}, {reason_column} "
        f"FROM {table} ORDER BY {', '.join(keys)}"  # a fixed order: the same cells are chosen every build
    ).df()
    final = complementary_suppression(cells, k, size_column, reason_column, partition_columns)
    return mark_complementary(con, table, cells[final.eq(COMPLEMENTARY) & cells[reason_column].isna()][keys],
                              reason_column)


def mark_complementary(con, table: str, targets: pd.DataFrame,  # noqa: ANN001 - DuckDB connection
                       reason_column: str = "suppression_reason") -> int:
    """Set ``reason_column`` to ``complementary`` on the rows of ``table`` whose key columns (all columns
    of ``targets``) match a row of ``targets``; return how many target rows there were."""
    if targets.empty:
        return 0
    con.register("complementary_targets", targets)
    try:
        on = " AND ".join(f"t.{c} IS NOT DISTINCT FROM n.{c}" for c in targets.columns)
        con.execute(f"UPDATE {table} AS t SET {reason_column} = '{COMPLEMENTARY}' FROM complementary_targets n WHERE {on}")
    finally:
        con.unregister("complementary_targets")
    return len(targets)


def _cohort_split_targets(rows: pd.DataFrame) -> pd.DataFrame:
    """Cohort cells to hide so that ``unit total = first_90_days + tenured`` never has a single unknown."""
    targets = []
    for r in rows.itertuples(index=False):
        hidden = [r.total_hidden, r.new_hidden, r.tenured_hidden]
        if sum(hidden) != 1:
            continue
        if r.new_hidden:
            cohort = "tenured"
        elif r.tenured_hidden:
            cohort = "first_90_days"
        else:  # the total is hidden: hide the smaller cohort
            cohort = "first_90_days" if (r.new_size, "first_90_days") <= (r.tenured_size, "tenured") else "tenured"
        targets.append((r.org_level, r.org_unit, r.month_start, cohort))
    return pd.DataFrame(targets, columns=["org_level", "org_unit", "month_start", "cohort"])


def apply_cohort_suppression(con, k: float) -> int:  # noqa: ANN001 - DuckDB connection
    """Joint suppression of retention_base (unit × month totals) and onboarding_base (its cohort split).

    The two marts publish the same people twice: a unit-month's total (retention_signals_monthly) is the
    sum of its two cohorts (onboarding_cohorts_monthly), so a hidden cohort could be recovered as
    total − the other cohort, and a hidden total as the sum of both cohorts. Complementary suppression
    along the org hierarchy and along the cohort split is repeated until neither adds a cell.
    """
    added = 0
    while True:
        n = apply_complementary_suppression(con, "retention_base", k, "active_posters", ("month_start",))
        n += apply_complementary_suppression(con, "onboarding_base", k, "active_posters", ("cohort", "month_start"))
        rows = con.execute(
            """
            SELECT r.org_level, r.org_unit, r.month_start,
                   r.suppression_reason IS NOT NULL AS total_hidden,
                   bool_or(o.cohort = 'first_90_days' AND o.suppression_reason IS NOT NULL) AS new_hidden,
                   bool_or(o.cohort = 'tenured' AND o.suppression_reason IS NOT NULL) AS tenured_hidden,
                   max(o.active_posters) FILTER (WHERE o.cohort = 'first_90_days') AS new_size,
                   max(o.active_posters) FILTER (WHERE o.cohort = 'tenured') AS tenured_size
            FROM retention_base r
            JOIN onboarding_base o USING (org_level, org_unit, month_start)
            GROUP BY ALL
            ORDER BY ALL
            """
        ).df()
        n += mark_complementary(con, "onboarding_base", _cohort_split_targets(rows))
        added += n
        if n == 0:
            return added


def _span_ends(months: list[pd.Timestamp]) -> list[tuple[int, int]]:
    """(first, last) month indices of every run of consecutive months that starts on a Monday and ends
    on a Sunday: exactly the spans whose days are also a whole number of ISO weeks."""
    spans = []
    for i, start in enumerate(months):
        if start.weekday() != 0:
            continue
        for j in range(i, len(months)):
            if j > i and months[j] != months[j - 1] + pd.offsets.MonthBegin(1):
                break
            if (months[j] + pd.offsets.MonthEnd(0)).weekday() == 6:
                spans.append((i, j))
    return spans


def time_grain_targets(weeks: pd.DataFrame, months: pd.DataFrame, k: float) -> tuple[list[int], list[int]]:
    """Cells to hide so that weekly and monthly figures of one unit cannot be differenced.

    Additive figures (messages, negative messages, sentiment sums) satisfy
    ``Σ months of a span = Σ ISO weeks of the span`` whenever the span starts on a Monday and ends on a
    Sunday (e.g. 1 September – 30 November 2025). With every month of such a span published, a single
    hidden week is the span total minus the published weeks; with every week published, a single hidden
    month is recoverable the same way. As along the org hierarchy, hidden cells of a span must also
    cover at least k people together. ``weeks``/``months``: one unit's rows with ``week_start`` /
    ``month_start``, ``size`` (people) and ``hidden`` (bool), any index. Returns the index labels of
    weeks and months to hide (smallest groups first, ties by date).
    """
    week_hidden = dict(zip(weeks["week_start"], weeks["hidden"], strict=True))
    week_size = dict(zip(weeks["week_start"], weeks["size"], strict=True))
    week_index = dict(zip(weeks["week_start"], weeks.index, strict=True))
    months = months.sort_values("month_start")
    month_starts = list(months["month_start"])
    month_hidden = list(months["hidden"])
    month_size = list(months["size"])
    hide_weeks: list[int] = []
    hide_months: list[int] = []

    def hide_smallest_week(shown: list[pd.Timestamp]) -> None:
        target = min(shown, key=lambda w: (week_size[w], w))
        week_hidden[target] = True
        hide_weeks.append(week_index[target])

    changed = True
    while changed:
        changed = False
        for i, j in _span_ends(month_starts):
            first, last = month_starts[i], month_starts[j] + pd.offsets.MonthEnd(0)
            span_weeks = list(pd.date_range(first, last, freq="7D"))
            if not all(w in week_hidden for w in span_weeks):
                continue  # the weekly mart does not cover the whole span: no equation
            hidden_w = [w for w in span_weeks if week_hidden[w]]
            shown_w = [w for w in span_weeks if not week_hidden[w]]
            hidden_m = [m for m in range(i, j + 1) if month_hidden[m]]
            shown_m = [m for m in range(i, j + 1) if not month_hidden[m]]
            weekly_known, monthly_known = not hidden_w, not hidden_m
            if monthly_known and hidden_w and (len(hidden_w) == 1 or sum(week_size[w] for w in hidden_w) < k):
                if not shown_w:
                    continue
                hide_smallest_week(shown_w)
                changed = True
            elif weekly_known and hidden_m and (len(hidden_m) == 1 or sum(month_size[m] for m in hidden_m) < k):
                if shown_m:
                    target_m = min(shown_m, key=lambda m: (month_size[m], month_starts[m]))
                    month_hidden[target_m] = True
                    hide_months.append(months.index[target_m])
                elif shown_w:  # a one-month span is exactly its weeks: hide one of them instead
                    hide_smallest_week(shown_w)
                else:
                    continue
                changed = True
    return hide_weeks, hide_months


def apply_time_grain_suppression(con, k: float, weekly: str = "engagement_base",  # noqa: ANN001
                                 monthly: str = "retention_base") -> int:
    """Hide weekly/monthly cells of the same unit until no span equation has a single unknown (see
    ``time_grain_targets``); return how many cells were newly hidden."""
    weeks = con.execute(
        f"SELECT org_level, org_unit, week_start, active_posters AS size, suppression_reason IS NOT NULL AS hidden "
        f"FROM {weekly} ORDER BY org_level, org_unit, week_start").df()
    months = con.execute(
        f"SELECT org_level, org_unit, month_start, active_posters AS size, suppression_reason IS NOT NULL AS hidden "
        f"FROM {monthly} ORDER BY org_level, org_unit, month_start").df()
    if weeks.empty or months.empty:
        return 0
    for frame, col in ((weeks, "week_start"), (months, "month_start")):
        frame[col] = pd.to_datetime(frame[col])
        frame["size"] = frame["size"].fillna(0).astype(float)
    hide_w: list[int] = []
    hide_m: list[int] = []
    month_groups = dict(iter(months.groupby(["org_level", "org_unit"], sort=True)))
    for key, unit_weeks in weeks.groupby(["org_level", "org_unit"], sort=True):
        if key in month_groups:
            w, m = time_grain_targets(unit_weeks, month_groups[key], k)
            hide_w += w
            hide_m += m
    return (mark_complementary(con, weekly, weeks.loc[hide_w, ["org_level", "org_unit", "week_start"]])
            + mark_complementary(con, monthly, months.loc[hide_m, ["org_level", "org_unit", "month_start"]]))
