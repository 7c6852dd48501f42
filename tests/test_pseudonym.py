"""Pseudonyms: determinism, key separation, normalisation, key loading order, local key file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from pipeline.privacy.pseudonym import (
    ENV_VAR,
    PseudonymKeyError,
    derive_key,
    ensure_local_key,
    key_fingerprint,
    load_key,
    pseudonymise,
)

KEY_A = b"key-a-0123456789abcdef-not-secret"
KEY_B = b"key-b-0123456789abcdef-not-secret"
AIRFLOW_ENV = "AIRFLOW_VAR_STEMNING_PSEUDONYM_KEY"  # Airflow's env-var secrets backend for the Variable


def test_pseudonyms_are_deterministic_and_well_formed() -> None:
    first = pseudonymise("U02ABCDEF", KEY_A)
    assert first == pseudonymise("U02ABCDEF", KEY_A)
    assert first.startswith("p_") and len(first) == 34 and int(first[2:], 16) >= 0
    assert "U02ABCDEF" not in first


def test_keys_and_ids_are_separated() -> None:
    assert pseudonymise("U02ABCDEF", KEY_A) != pseudonymise("U02ABCDEF", KEY_B)
    assert pseudonymise("U02ABCDEF", KEY_A) != pseudonymise("U02ABCDEG", KEY_A)
    assert derive_key(KEY_A, "author-pseudonym/v1") != derive_key(KEY_A, "name-index/v1")


def test_normalisation() -> None:
    assert pseudonymise("  Mette.Kjaergaard@Firma.DK ", KEY_A) == pseudonymise("mette.kjaergaard@firma.dk", KEY_A)
    assert pseudonymise("mailto:hr@firma.dk", KEY_A) == pseudonymise("HR@firma.dk", KEY_A)
    assert pseudonymise(" U02ABCDEF\n", KEY_A) == pseudonymise("U02ABCDEF", KEY_A)
    assert pseudonymise("U02ABCDEF", KEY_A) != pseudonymise("u02abcdef", KEY_A)  # ids are case-sensitive
    assert pseudonymise("Rene\u0301", KEY_A) == pseudonymise("René", KEY_A)  # NFKC
    with pytest.raises(ValueError, match="empty"):
        pseudonymise("   ", KEY_A)


def test_fingerprint_identifies_key_without_revealing_it() -> None:
    fp = key_fingerprint(KEY_A)
    assert len(fp) == 8 and int(fp, 16) >= 0
    assert fp == key_fingerprint(KEY_A) != key_fingerprint(KEY_B)
    assert fp not in KEY_A.hex() and fp not in pseudonymise("x", KEY_A)


def test_env_var_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, "  env-key-0123456789abcdef  ")
    monkeypatch.setenv(AIRFLOW_ENV, "airflow-key-0123456789abcdef")
    assert load_key(key_file=tmp_path / "missing.key") == b"env-key-0123456789abcdef"


def test_airflow_variable_is_second(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv(AIRFLOW_ENV, "airflow-key-0123456789abcdef")
    key_file = ensure_local_key(tmp_path / "secrets" / "pseudonym.key")
    assert load_key(key_file=key_file) == b"airflow-key-0123456789abcdef"
    assert load_key(key_file=key_file, use_airflow=False) == key_file.read_text().strip().encode()


def test_local_key_file_is_random_private_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.delenv(AIRFLOW_ENV, raising=False)
    monkeypatch.setenv("STEMNING_KEY_FILE", str(tmp_path / "secrets" / "pseudonym.key"))
    with caplog.at_level(logging.DEBUG, logger="pipeline.privacy"):
        path = ensure_local_key()  # default path comes from get_settings().key_file
        key = load_key()
    assert path == tmp_path / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(key) == 64 and int(key, 16) >= 0
    assert key.decode() not in caplog.text and key_fingerprint(key) in caplog.text
    ensure_local_key(path)
    assert load_key() == key  # an existing key is never overwritten
    assert ensure_local_key(tmp_path / "other.key").read_text().strip().encode() != key


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.delenv(AIRFLOW_ENV, raising=False)
    missing = tmp_path / "nope.key"
    with pytest.raises(PseudonymKeyError, match=f"{ENV_VAR}.*stemning_pseudonym_key.*{missing.name}"):
        load_key(key_file=missing)


def test_short_key_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "short")
    with pytest.raises(PseudonymKeyError, match="shorter than 16"):
        load_key()
