"""HRIS roster: employee_id, department, team, hire_date, termination_date (+ optional name, email).

Names and e-mails are used for two things only and never stored: keyed hashes of name tokens go to
``private.name_hashes`` (so later text can be redacted), and a keyed hash of the e-mail becomes
``email_key`` (so Slack users can be joined to employees).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.ingest.common import (
    IngestContext,
    IngestReport,
    QuarantinedRow,
    parse_date,
    read_csv_rows,
    write_batch,
)
from pipeline.ingest.names import remember_names
from pipeline.ingest.posts import author_key_for_email, author_key_for_employee
from pipeline.privacy.names import names_from_email

ROSTER_COLUMNS = {"employee_id", "department", "team", "hire_date"}


def names_from_row(row: dict[str, str]) -> list[str]:
    names = [row.get("name", "").strip(), f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()]
    if from_email := names_from_email(row.get("email", "").strip()):  # mette.hansen@ -> "mette hansen"
        names.append(from_email)
    return [n for n in names if n]


def ingest_roster(ctx: IngestContext, path: Path, report: IngestReport) -> None:
    out: list[dict[str, Any]] = []
    names: list[str] = []
    seen: dict[str, str] = {}
    for position, row, problem in read_csv_rows(path, ROSTER_COLUMNS):
        report.rows_seen += 1
        record: dict[str, Any] = {}
        if problem is None:
            assert row is not None
            names.extend(names_from_row(row))  # even for rows we quarantine: still people to redact
            problem = _validate(row, record)
        if problem is None:
            assert row is not None
            emp = row["employee_id"].strip()
            if emp in seen:
                problem = f"duplicate_row: employee_id already at {seen[emp]} of this file"
            else:
                seen[emp] = position
        if problem is not None:
            # Roster rows are all personal data: the excerpt holds only non-identifying columns.
            excerpt = None if row is None else f"department={row.get('department', '')!s}, team={row.get('team', '')!s}"
            report.quarantined.append(QuarantinedRow(position, problem, excerpt))
            continue
        assert row is not None
        email = row.get("email", "").strip()
        record |= {
            "employee_key": author_key_for_employee(row["employee_id"], ctx.key),
            "email_key": author_key_for_email(email, ctx.key) if email else None,
            "department": row["department"].strip(),
            "team": row["team"].strip(),
        }
        record["content_hash"] = ctx.content_hash(record)
        out.append(record | {"source_file": report.source_file, "source_position": position, "loaded_at": ctx.now})
    write_batch(ctx, report, "raw.roster", ("employee_key", "content_hash"), out)
    remember_names(ctx, names)


def _validate(row: dict[str, str], record: dict[str, Any]) -> str | None:
    for col in ("employee_id", "department", "team", "hire_date"):
        if not row.get(col, "").strip():
            return f"missing_field: {col} is empty"
    try:
        hire = parse_date(row["hire_date"])
        term = parse_date(row.get("termination_date", ""))
    except ValueError as exc:
        return f"bad_date: {exc}"
    if term is not None and hire is not None and term < hire:
        return f"bad_value: termination_date {term} is before hire_date {hire}"
    record["hire_date"], record["termination_date"] = hire, term
    return None
