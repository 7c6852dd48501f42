"""PII audit on real DuckDB files: planted PII is found (masked), redacted data is clean, CLI exit codes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import duckdb
import pytest

from pipeline.privacy.audit import (
    AuditError,
    ColumnFinding,
    audit_database,
    mask,
    register_cli,
    scan_text,
)
from pipeline.privacy.names import NameIndex
from pipeline.privacy.patterns import cpr_mod11_ok
from pipeline.privacy.redact import Redactor
from pipeline.privacy.store import load_name_index, save_name_index

KEY = os.environ["STEMNING_PSEUDONYM_KEY"].encode()
NAMES = ["Mette Kjærgaard", "Jens Østergaard", "Per Holm"]

POSTS = [  # (post_id, text): raw employee posts with planted PII
    ("p1", "Skriv til mette.kjaergaard@firma.dk om vagtplanen"),
    ("p2", "Mit CPR er 010190-1234, ring 12 34 56 78"),
    ("p3", "Løn til DK50 0040 0440 1162 43 tak"),
    ("p4", "Tak <@U02ABCDEF> for hjælpen"),
    ("p5", "Jens Østergaard er en god leder"),  # only a name: found with the name index alone
    ("p6", "Mødet er den 01-02-2024, pris 1.234,50 kr., v2.10.3"),
    ("p7", "cpr 0101901234 og igen mette.kjaergaard@firma.dk"),
]
PLANTED = {  # (table, column, kind) -> rows
    ("raw_posts", "text", "EMAIL"): 2,
    ("raw_posts", "text", "CPR"): 2,
    ("raw_posts", "text", "PHONE"): 1,
    ("raw_posts", "text", "IBAN"): 1,
    ("raw_posts", "text", "MENTION"): 1,
    ("v_posts", "text", "EMAIL"): 2,
    ("v_posts", "text", "CPR"): 2,
    ("v_posts", "text", "PHONE"): 1,
    ("v_posts", "text", "IBAN"): 1,
    ("v_posts", "text", "MENTION"): 1,
    ("author_notes", "note", "EMAIL"): 1,
}


def build_warehouse(path: Path, redactor: Redactor | None = None) -> None:
    """A small warehouse: raw + staging tables, a view, an INTEGER column, and a private schema."""
    clean = (lambda t: redactor.redact(t).text) if redactor else (lambda t: t)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
        con.execute("CREATE TABLE raw.raw_posts (post_id VARCHAR, text VARCHAR, phone_like INTEGER)")
        con.executemany("INSERT INTO raw.raw_posts VALUES (?, ?, 23456789)", [(i, clean(t)) for i, t in POSTS])
        con.execute("CREATE VIEW staging.v_posts AS SELECT post_id, text FROM raw.raw_posts")
        con.execute("CREATE TABLE staging.author_notes (author VARCHAR, note VARCHAR[])")
        con.execute("INSERT INTO staging.author_notes VALUES ('p_0123', [?, 'ok'])",
                    [clean("kontakt hr@firma.dk")])
        save_name_index(con, NameIndex.from_names(NAMES, KEY))
        con.execute("CREATE TABLE private.contacts (email VARCHAR)")  # private is not audited
        con.execute("INSERT INTO private.contacts VALUES ('mette.kjaergaard@firma.dk')")
    finally:
        con.close()


@pytest.fixture
def planted_db(tmp_path: Path) -> Path:
    path = tmp_path / "planted.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture
def redacted_db(tmp_path: Path) -> Path:
    path = tmp_path / "redacted.duckdb"
    build_warehouse(path, Redactor(NameIndex.from_names(NAMES, KEY)))
    return path


def _by_location(findings: list[ColumnFinding]) -> dict[tuple[str, str, str], int]:
    return {(f.table, f.column, f.kind): f.rows for f in findings}


def test_scan_text_finds_patterns_and_ignores_placeholders() -> None:
    kinds = [f.kind for f in scan_text("CPR 010190-1234, mette@firma.dk, <@U02ABCDEF>, +45 12345678")]
    assert kinds == ["CPR", "EMAIL", "MENTION", "PHONE"]
    assert scan_text("[CPR] [EMAIL] [PHONE] [IBAN] [ACCOUNT] [URL] [MENTION] [PERSON] @here") == []
    assert scan_text("Mettes idé") == []  # names need a name index
    assert [f.kind for f in scan_text("Mettes idé", NameIndex.from_names(NAMES, KEY))] == ["PERSON"]


def test_cpr_confidence_uses_mod11_or_label_but_never_requires_it() -> None:
    # 070707-7124 fails modulus 11 (allowed since 2007): found, with medium confidence unless labelled.
    assert not cpr_mod11_ok("0707077124") and cpr_mod11_ok("0707077123")
    (unlabelled,) = scan_text("id 070707-7124")
    (labelled,) = scan_text("CPR: 070707-7124")
    (mod11,) = scan_text("id 070707-7123")
    assert (unlabelled.confidence, labelled.confidence, mod11.confidence) == ("medium", "high", "high")


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("EMAIL", "mette.kjaergaard@firma.dk", "m***@f***.dk"),
    ("CPR", "010190-1234", "******-**34"),
    ("PHONE", "+45 12 34 56 78", "+** ** ** ** 78"),
    ("IBAN", "DK50 0040 0440 1162 43", "**** **** **** **** 43"),
    ("MENTION", "<@U02ABCDEF>", "<@U***>"),
    ("PERSON", "Jens Østergaard", "J***"),
])
def test_mask_shows_at_most_two_characters(kind: str, value: str, expected: str) -> None:
    assert mask(kind, value) == expected


def test_audit_finds_planted_pii_everywhere_but_private(planted_db: Path) -> None:
    con = duckdb.connect(str(planted_db), read_only=True)
    try:
        findings = audit_database(con, key=KEY)
        again = audit_database(con, key=KEY)
    finally:
        con.close()
    assert _by_location(findings) == PLANTED
    assert all(f.schema != "private" and f.column != "phone_like" for f in findings)
    for f in findings:
        assert "kjaergaard" not in f.example_masked and "010190" not in f.example_masked
        assert len(f.example_hash) == 12
    assert [f.example_hash for f in findings] == [f.example_hash for f in again]  # stable under one key


def test_audit_with_name_index_finds_names(planted_db: Path) -> None:
    con = duckdb.connect(str(planted_db), read_only=True)
    try:
        index = load_name_index(con, KEY)
        assert index is not None and load_name_index(con, b"some-other-key-0123456789") is None
        findings = _by_location(audit_database(con, index))
    finally:
        con.close()
    # "mette.kjaergaard@…" counts as an e-mail, not a name; p5 holds the only bare name
    assert findings == {**PLANTED, ("raw_posts", "text", "PERSON"): 1, ("v_posts", "text", "PERSON"): 1}


def test_audit_is_clean_after_redaction(redacted_db: Path) -> None:
    con = duckdb.connect(str(redacted_db), read_only=True)
    try:
        assert audit_database(con, load_name_index(con, KEY)) == []
        texts = [r[0] for r in con.execute("SELECT text FROM raw.raw_posts ORDER BY post_id").fetchall()]
    finally:
        con.close()
    assert texts[:5] == ["Skriv til [EMAIL] om vagtplanen", "Mit CPR er [CPR], ring [PHONE]",
                         "Løn til [IBAN] tak", "Tak [MENTION] for hjælpen", "[PERSON] er en god leder"]
    assert texts[5] == POSTS[5][1]  # the innocent post is untouched


def test_broken_view_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a VARCHAR); CREATE VIEW v AS SELECT a FROM t; DROP TABLE t")
    with pytest.raises(AuditError, match=r"main\.v\.a"):
        audit_database(con)
    con.close()


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stemning")
    parser.add_argument("--db")
    register_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_exit_codes_and_masked_output(planted_db: Path, redacted_db: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = planted_db.stat().st_mtime_ns
    assert _cli(["--db", str(planted_db), "audit-pii"]) == 1
    out = capsys.readouterr().out
    assert "raw.raw_posts.text" in out and "PERSON" in out and "names: checked against" in out
    assert "kjaergaard" not in out and "010190" not in out and "Østergaard" not in out
    assert planted_db.stat().st_mtime_ns == before  # opened read-only

    assert _cli(["--db", str(redacted_db), "audit-pii"]) == 0
    assert "no PII found" in capsys.readouterr().out

    assert _cli(["--db", str(planted_db), "audit-pii", "--no-names"]) == 1
    out = capsys.readouterr().out
    assert "PERSON" not in out and "names: not checked (--no-names)" in out

    assert _cli(["--db", str(tmp_path / "missing.duckdb"), "audit-pii"]) == 2
    assert "DuckDB file not found" in capsys.readouterr().err


def test_cli_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli(["audit-pii", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status" in out
