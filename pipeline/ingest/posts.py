"""Internal posts: generic CSV/JSONL and Slack workspace exports (directory or .zip).

Authors are pseudonymised on the way in (``author_key``); text is redacted before it is stored.
Slack users are keyed by their e-mail when the export has one (so staging can join them to the
roster's ``email_key``), otherwise by their Slack id.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.ingest.common import (
    ENCODING_REASON,
    MAX_TEXT_CHARS,
    IngestContext,
    IngestReport,
    QuarantinedRow,
    UnsupportedInputError,
    check_not_future,
    decode,
    has_bad_encoding,
    parse_timestamp,
    read_csv_rows,
    read_jsonl_rows,
    write_batch,
)
from pipeline.ingest.names import remember_names
from pipeline.privacy.pseudonym import pseudonymise

POST_COLUMNS = {"post_id", "author_id", "channel", "created_at", "text"}
# Slack message subtypes that are not employee posts (joins, bots, channel housekeeping).
SLACK_SKIP_SUBTYPES = {
    "channel_join", "channel_leave", "bot_message", "channel_topic", "channel_purpose", "channel_name",
    "channel_archive", "channel_unarchive", "pinned_item", "unpinned_item", "group_join", "group_leave",
    "tombstone", "reminder_add", "slackbot_response",
}


def author_key_for_employee(employee_id: str, key: bytes) -> str:
    return pseudonymise(f"employee:{employee_id.strip()}", key)


def author_key_for_email(email: str, key: bytes) -> str:
    return pseudonymise(f"email:{email.strip().casefold()}", key)


def _post_row(
    ctx: IngestContext,
    *,
    post_key: str,
    source_system: str,
    author_key: str,
    channel: str | None,
    created_at: Any,
    text: str,
    parent_key: str | None,
    reactions: int,
    source_file: str,
    position: str,
) -> dict[str, Any]:
    redacted, n = ctx.redact(text)
    record = {
        "post_key": post_key, "source_system": source_system, "author_key": author_key, "channel": channel,
        "created_at": created_at, "text": redacted, "parent_key": parent_key, "reactions": reactions,
    }
    return record | {
        "content_hash": ctx.content_hash(record),
        "redactions": n,
        "source_file": source_file,
        "source_position": position,
        "loaded_at": ctx.now,
    }


def _validate_generic(ctx: IngestContext, row: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    for col in ("post_id", "author_id", "created_at"):
        if not str(row.get(col, "")).strip():
            return None, f"missing_field: {col} is empty"
    text = str(row.get("text", ""))
    if not text.strip():
        return None, "missing_field: text is empty"
    if len(text) > MAX_TEXT_CHARS:
        return None, f"text_too_long: {len(text)} characters (max {MAX_TEXT_CHARS})"
    try:
        ts = parse_timestamp(row["created_at"])
    except ValueError as exc:
        return None, f"bad_timestamp: {exc}"
    if problem := check_not_future(ctx, ts):
        return None, problem
    raw_reactions = str(row.get("reactions", "") or "0").strip()
    try:
        reactions = int(float(raw_reactions))
        if reactions < 0:
            raise ValueError
    except ValueError:
        return None, f"bad_value: reactions {raw_reactions[:20]!r} is not a non-negative integer"
    return {"created_at": ts, "text": text, "reactions": reactions}, None


def ingest_generic_posts(ctx: IngestContext, path: Path, fmt: str, report: IngestReport) -> None:
    rows_iter = read_csv_rows(path, POST_COLUMNS) if fmt == "csv" else read_jsonl_rows(path)
    seen_keys: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for position, row, problem in rows_iter:
        report.rows_seen += 1
        if problem is None and fmt == "jsonl":
            missing = POST_COLUMNS - set(row or {})
            if missing:
                problem = f"missing_field: {', '.join(sorted(missing))} absent"
        if problem is None:
            assert row is not None
            valid, problem = _validate_generic(ctx, row)
        if problem is None:
            assert row is not None and valid is not None
            post_key = f"{fmt}:{str(row['post_id']).strip()}"
            if post_key in seen_keys:
                problem = f"duplicate_row: post_id already at {seen_keys[post_key]} of this file"
            else:
                seen_keys[post_key] = position
        if problem is not None:
            report.quarantined.append(QuarantinedRow(position, problem, ctx.excerpt(_row_text(row))))
            continue
        parent = str(row.get("parent_id", "") or "").strip()
        out.append(
            _post_row(
                ctx,
                post_key=post_key,
                source_system=fmt,
                author_key=author_key_for_employee(str(row["author_id"]), ctx.key),
                channel=str(row.get("channel", "") or "").strip() or None,
                created_at=valid["created_at"],
                text=valid["text"],
                parent_key=f"{fmt}:{parent}" if parent else None,
                reactions=valid["reactions"],
                source_file=report.source_file,
                position=position,
            )
        )
    write_batch(ctx, report, "raw.posts", ("post_key", "content_hash"), out)


def _row_text(row: dict[str, Any] | None) -> str | None:
    if not row:
        return None
    if "_raw" in row:
        return str(row["_raw"])
    return str(row.get("text") or row.get("pros") or row.get("cons") or "") or None


# --- Slack ---------------------------------------------------------------------------------------


def open_slack_export(path: Path) -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """A Slack export directory, or a .zip extracted to a temp dir (caller cleans up)."""
    if path.is_file() and zipfile.is_zipfile(path):
        tmp = tempfile.TemporaryDirectory(prefix="stemning-slack-")
        with zipfile.ZipFile(path) as zf:
            zf.extractall(tmp.name)
        root = Path(tmp.name)
        # Exports are sometimes zipped with one top-level folder.
        if not (root / "users.json").exists():
            subdirs = [d for d in root.iterdir() if d.is_dir()]
            if len(subdirs) == 1:
                root = subdirs[0]
        return root, tmp
    if path.is_dir():
        return path, None
    raise UnsupportedInputError(f"{path}: not a Slack export; expected a directory or .zip with users.json and channels.json")


def _load_json_file(path: Path) -> Any:
    data = path.read_bytes()
    text = decode(data)
    if has_bad_encoding(text):
        raise ValueError(ENCODING_REASON)
    return json.loads(text)


def slack_users(root: Path) -> list[dict[str, Any]]:
    for required in ("users.json", "channels.json"):
        if not (root / required).exists():
            raise UnsupportedInputError(
                f"{root}: not a Slack export; expected users.json and channels.json at the top level "
                f"({required} is missing)"
            )
    try:
        users = _load_json_file(root / "users.json")
    except (ValueError, json.JSONDecodeError) as exc:
        raise UnsupportedInputError(f"{root / 'users.json'}: unreadable ({exc}); re-export the workspace") from exc
    if not isinstance(users, list):
        raise UnsupportedInputError(f"{root / 'users.json'}: expected a JSON array of users")
    return users


def slack_user_names(users: list[dict[str, Any]]) -> list[str]:
    """Every name form a Slack user is known by (for redaction; never stored). Bots and apps are not
    people, and their names ("Google Calendar", "Standup Bot") are ordinary words in posts."""
    names: list[str] = []
    for u in users:
        if u.get("is_bot") or u.get("is_app_user") or u.get("id") == "USLACKBOT":
            continue
        profile = u.get("profile") or {}
        for value in (u.get("real_name"), profile.get("real_name"), profile.get("display_name"), u.get("name")):
            if isinstance(value, str) and value.strip():
                names.append(value.strip())
    return names


def _slack_channel_files(root: Path) -> Iterator[tuple[str, str, Path]]:
    try:
        channels = _load_json_file(root / "channels.json")
    except (ValueError, json.JSONDecodeError) as exc:
        raise UnsupportedInputError(f"{root / 'channels.json'}: unreadable ({exc}); re-export the workspace") from exc
    for ch in channels:
        name = ch.get("name")
        folder = root / str(name)
        if not name or not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.json")):
            yield str(ch.get("id") or name), str(name), f


def ingest_slack(ctx: IngestContext, path: Path, report: IngestReport) -> None:
    root, tmp = open_slack_export(path)
    try:
        users = slack_users(root)
        # Users' names must be known before the first message is redacted.
        remember_names(ctx, slack_user_names(users))
        user_keys: dict[str, str] = {}
        for u in users:
            uid = str(u.get("id", ""))
            email = ((u.get("profile") or {}).get("email") or "").strip()
            user_keys[uid] = author_key_for_email(email, ctx.key) if email else pseudonymise(f"slack:{uid}", ctx.key)
        out: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        for channel_id, channel, f in _slack_channel_files(root):
            rel = f"{channel}/{f.name}"
            try:
                messages = _load_json_file(f)
                if not isinstance(messages, list):
                    raise ValueError("expected a JSON array of messages")
            except (ValueError, json.JSONDecodeError) as exc:
                # The file's rows are unknowable: the file itself is the quarantined unit.
                report.rows_seen += 1
                reason = str(exc) if str(exc).startswith("bad_encoding") else f"invalid_json: {exc}"
                report.quarantined.append(QuarantinedRow(rel, reason, None))
                continue
            for i, msg in enumerate(messages):
                report.rows_seen += 1
                pos = f"{rel}#{i}"
                if not isinstance(msg, dict):
                    report.quarantined.append(QuarantinedRow(pos, "invalid_json: message is not an object", None))
                    continue
                if msg.get("subtype") in SLACK_SKIP_SUBTYPES or msg.get("bot_id"):
                    report.rows_skipped += 1
                    continue
                text, user, ts = msg.get("text"), msg.get("user"), msg.get("ts")
                problem = None
                if not user or not ts:
                    problem = f"missing_field: {'user' if not user else 'ts'} is empty"
                elif not isinstance(text, str) or not text.strip():
                    problem = "missing_field: text is empty"
                elif len(text) > MAX_TEXT_CHARS:
                    problem = f"text_too_long: {len(text)} characters (max {MAX_TEXT_CHARS})"
                created = None
                if problem is None:
                    try:
                        created = parse_timestamp(ts)
                        problem = check_not_future(ctx, created)
                    except ValueError as exc:
                        problem = f"bad_timestamp: {exc}"
                post_key = f"slack:{channel_id}:{ts}"
                if problem is None and post_key in seen:
                    problem = f"duplicate_row: message ts already at {seen[post_key]}"
                if problem is not None:
                    report.quarantined.append(QuarantinedRow(pos, problem, ctx.excerpt(text if isinstance(text, str) else None)))
                    continue
                seen[post_key] = pos
                thread_ts = msg.get("thread_ts")
                reactions = sum(int(r.get("count", len(r.get("users", [])))) for r in msg.get("reactions") or [])
                out.append(
                    _post_row(
                        ctx,
                        post_key=post_key,
                        source_system="slack",
                        author_key=user_keys.get(str(user)) or pseudonymise(f"slack:{user}", ctx.key),
                        channel=channel,
                        created_at=created,
                        text=text,
                        parent_key=f"slack:{channel_id}:{thread_ts}" if thread_ts and thread_ts != ts else None,
                        reactions=reactions,
                        source_file=report.source_file,
                        position=pos,
                    )
                )
        write_batch(ctx, report, "raw.posts", ("post_key", "content_hash"), out)
    finally:
        if tmp is not None:
            tmp.cleanup()
