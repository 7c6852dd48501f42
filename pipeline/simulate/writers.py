"""CSV and JSON outputs besides the Slack export: roster, generic posts, reviews, labels, ground truth.

Every file is written with fixed column order, ``\\n`` line endings and UTF-8, so the same seed and
arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.simulate.dk_calendar import copenhagen
from pipeline.simulate.org import Company
from pipeline.simulate.posts import Post

ROSTER_COLUMNS = ("employee_id", "name", "email", "department", "team", "hire_date", "termination_date")
POST_COLUMNS = ("post_id", "author_id", "channel", "created_at", "text", "reactions", "parent_id")
LABEL_COLUMNS = ("source", "post_id", "parent_id", "channel", "team", "week", "language", "intent", "sentiment",
                 "themes", "leave_intent", "hard_negative", "pii", "text")


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def write_roster(path: Path, company: Company) -> int:
    rows = [{"employee_id": e.employee_id, "name": e.name, "email": e.email, "department": e.department,
             "team": e.team, "hire_date": e.hire_date.isoformat(),
             "termination_date": e.termination_date.isoformat() if e.termination_date else ""}
            for e in sorted(company.employees, key=lambda e: e.employee_id)]
    return write_csv(path, ROSTER_COLUMNS, rows)


def assign_csv_ids(posts: list[Post]) -> list[Post]:
    """Generic posts in time order with ids P000001...; parents always precede their replies."""
    csv_posts = sorted((p for p in posts if p.platform == "csv"), key=lambda p: (p.at, p.seq))
    for i, post in enumerate(csv_posts, start=1):
        post.post_id = f"P{i:06d}"
    return csv_posts


def write_posts(path: Path, csv_posts: list[Post]) -> int:
    rows = ({"post_id": p.post_id, "author_id": p.author.employee_id, "channel": p.channel,
             "created_at": copenhagen(p.at).isoformat(timespec="seconds"), "text": p.text,
             "reactions": p.reaction_count, "parent_id": p.parent.post_id if p.parent else ""}
            for p in csv_posts)
    return write_csv(path, POST_COLUMNS, rows)


def write_labels(path: Path, posts: list[Post], hard_negative_intents: set[str]) -> int:
    """Per-post ground truth for evaluating themes, leave intent, sentiment and redaction."""
    ordered = sorted(posts, key=lambda p: (p.at, p.seq))
    rows = ({"source": p.platform, "post_id": p.post_id, "parent_id": p.parent.post_id if p.parent else "",
             "channel": p.channel, "team": p.author.team,
             "week": "{}-W{:02d}".format(*p.at.isocalendar()[:2]), "language": p.lang, "intent": p.intent,
             "sentiment": p.sentiment, "themes": ";".join(p.themes), "leave_intent": int(p.leave_intent),
             "hard_negative": int(p.intent in hard_negative_intents), "pii": ";".join(p.pii), "text": p.text}
            for p in ordered)
    return write_csv(path, LABEL_COLUMNS, rows)


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
