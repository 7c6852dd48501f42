"""Public employer reviews (Glassdoor/Indeed/Trustpilot-style exports) as CSV or JSONL.

Columns: review_id, source, company, created_at, rating (1-5), title, pros, cons, text,
employment_status (current|former), job_title, location — all optional except that a review needs
a company and at least one text field. Other layouts load with a column mapping (``--map
pros=like,cons=dislike,rating=score``) or a named preset (``--preset hrdatasets``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.ingest.common import (
    MAX_TEXT_CHARS,
    IngestContext,
    IngestReport,
    QuarantinedRow,
    UnsupportedInputError,
    check_not_future,
    parse_timestamp,
    read_csv_rows,
    read_jsonl_rows,
    write_batch,
)

REVIEW_COLUMNS = (
    "review_id", "source", "company", "created_at", "rating", "title", "pros", "cons", "text",
    "employment_status", "job_title", "location",
)
TEXT_FIELDS = ("title", "pros", "cons", "text")
# Named column mappings (our column -> column in the file) and fixed values for known public datasets.
PRESETS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # HRdatasets (R package) employer reviews: review_id,industry,company,score,like,dislike
    "hrdatasets": ({"rating": "score", "pros": "like", "cons": "dislike"}, {"source": "hrdatasets"}),
}
STATUS_ALIASES = {
    "current": "current", "current employee": "current", "nuværende": "current", "nuvaerende": "current",
    "former": "former", "former employee": "former", "tidligere": "former", "": "",
}


def parse_mapping(spec: str | None) -> dict[str, str]:
    """'pros=like,cons=dislike' -> {'pros': 'like', 'cons': 'dislike'}."""
    if not spec:
        return {}
    mapping = {}
    for part in spec.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or ours.strip() not in REVIEW_COLUMNS:
            raise UnsupportedInputError(
                f"bad column mapping {part!r}: expected OUR=THEIRS with OUR one of {', '.join(REVIEW_COLUMNS)}"
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def _normalise(row: dict[str, Any], mapping: dict[str, str], fixed: dict[str, str]) -> dict[str, str]:
    out = {}
    for col in REVIEW_COLUMNS:
        value = row.get(mapping.get(col, col), "")
        out[col] = "" if value is None else str(value).strip()
    for col, value in fixed.items():
        out[col] = out[col] or value
    return out


def _validate(ctx: IngestContext, r: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    if not r["company"]:
        return None, "missing_field: company is empty"
    if not any(r[f] for f in TEXT_FIELDS):
        return None, "missing_field: no text in title, pros, cons or text"
    if longest := max((f for f in TEXT_FIELDS if len(r[f]) > MAX_TEXT_CHARS), default=None, key=lambda f: len(r[f])):
        return None, f"text_too_long: {longest} has {len(r[longest])} characters (max {MAX_TEXT_CHARS})"
    rating = None
    if r["rating"]:
        try:
            rating = float(r["rating"].replace(",", "."))
        except ValueError:
            return None, f"bad_value: rating {r['rating'][:20]!r} is not a number"
        if not 1 <= rating <= 5:
            return None, f"rating_out_of_range: {rating:g} (expected 1-5)"
    created = None
    if r["created_at"]:
        try:
            created = parse_timestamp(r["created_at"])
        except ValueError as exc:
            return None, f"bad_timestamp: {exc}"
        if problem := check_not_future(ctx, created):
            return None, problem
    status = STATUS_ALIASES.get(r["employment_status"].casefold())
    if status is None:
        return None, f"bad_value: employment_status {r['employment_status'][:30]!r} (expected current or former)"
    return {"rating": rating, "created_at": created, "employment_status": status or None}, None


def ingest_reviews(
    ctx: IngestContext,
    path: Path,
    fmt: str,
    report: IngestReport,
    mapping: dict[str, str] | None = None,
    preset: str | None = None,
) -> None:
    fixed: dict[str, str] = {}
    mapping = dict(mapping or {})
    if preset:
        if preset not in PRESETS:
            raise UnsupportedInputError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        preset_map, fixed = PRESETS[preset]
        mapping = preset_map | mapping
    required = {mapping.get("company", "company")}
    rows_iter = read_csv_rows(path, required) if fmt == "csv" else read_jsonl_rows(path)
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for position, row, problem in rows_iter:
        report.rows_seen += 1
        r = _normalise(row or {}, mapping, fixed) if problem is None else None
        valid = None
        if r is not None:
            valid, problem = _validate(ctx, r)
        if problem is None:
            assert r is not None and valid is not None
            record = {c: (r[c] or None) for c in REVIEW_COLUMNS} | valid
            record["source"] = r["source"] or "unknown"
            # Reviews without an id get one from their content, so duplicates collapse.
            rid = r["review_id"] or "h" + ctx.content_hash({k: record[k] for k in ("company", "title", "pros", "cons", "text")})
            review_key = f"{record['source']}:{rid}"
            if review_key in seen:
                problem = f"duplicate_row: review already at {seen[review_key]} of this file"
        if problem is not None:
            text = None if row is None else str(row.get("_raw") or row.get(mapping.get("pros", "pros")) or row.get("text") or "")
            report.quarantined.append(QuarantinedRow(position, problem, ctx.excerpt(text)))
            continue
        seen[review_key] = position
        redactions = 0
        for f in (*TEXT_FIELDS, "job_title", "location"):
            record[f], n = ctx.redact(record[f])
            redactions += n
        del record["review_id"]
        record["review_key"] = review_key
        record["content_hash"] = ctx.content_hash(record)
        out.append(
            record
            | {"redactions": redactions, "source_file": report.source_file, "source_position": position, "loaded_at": ctx.now}
        )
    write_batch(ctx, report, "raw.reviews", ("review_key", "content_hash"), out)
