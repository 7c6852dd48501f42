"""Keyed pseudonyms for author ids, and the key they depend on.

Pseudonym = ``"p_" + HMAC-SHA-256(k_pseudo, normalised id)[:32 hex]`` where ``k_pseudo`` is derived from the
pseudonymisation key for this one purpose (other uses of the key, e.g. the name index, derive their own
sub-keys, so a pseudonym never equals a name hash of the same string).

Collision odds: 32 hex chars = 128 bits. By the birthday bound the chance that any two of ``n`` distinct
ids share a pseudonym is about ``n**2 / 2**129``: 1.5e-27 for a million authors, i.e. never in practice.

Where the key comes from, first hit wins:

1. the environment variable ``STEMNING_PSEUDONYM_KEY``;
2. the Airflow Variable ``stemning_pseudonym_key`` (Airflow is imported only when 1. is unset, and a
   missing or unconfigured Airflow is tolerated; Airflow masks the value in task logs);
3. the local key file ``get_settings().key_file`` (``secrets/pseudonym.key``, git-ignored), which
   :func:`ensure_local_key` creates for a demo setup.

The key never goes to DuckDB or to logs; only :func:`key_fingerprint` (8 hex chars of an HMAC of a constant)
may be logged or stored, so runs can tell whether they used the same key.

Key rotation: pseudonyms are a function of the key, so rotating the key means re-ingesting (re-pseudonymising)
everything that is kept, with the new key, and rebuilding the marts and the name index. Pseudonyms made with
the old key are unlinkable to the new ones by design; once the old key is destroyed they are also unlinkable
to the people behind them. Rotate when the key may have leaked, and when you want to cut the link between
old and new data (e.g. yearly). Store the fingerprint with each run to detect a mix of keys.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
import unicodedata
from functools import lru_cache
from pathlib import Path

from pipeline.config import get_settings

log = logging.getLogger(__name__)

ENV_VAR = "STEMNING_PSEUDONYM_KEY"
AIRFLOW_VARIABLE = "stemning_pseudonym_key"
MIN_KEY_CHARS = 16
PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX_CHARS = 32


class PseudonymKeyError(RuntimeError):
    """No usable pseudonymisation key was found (the message says where to put one)."""


def load_key(*, key_file: Path | None = None, use_airflow: bool = True) -> bytes:
    """The pseudonymisation key from env, Airflow Variable or key file (see module docstring).

    ``key_file`` defaults to ``get_settings().key_file``. The key is the UTF-8 bytes of the stripped value,
    so the same string gives the same key whichever source holds it. Raises :class:`PseudonymKeyError`.
    """
    value = os.environ.get(ENV_VAR, "").strip()
    source = f"environment variable {ENV_VAR}"
    if not value and use_airflow:
        value = _airflow_variable()
        source = f"Airflow Variable {AIRFLOW_VARIABLE}"
    path = key_file if key_file is not None else get_settings().key_file
    if not value and path.is_file():
        _warn_if_readable_by_others(path)
        value = path.read_text(encoding="utf-8").strip()
        source = f"key file {path}"
    if not value:
        raise PseudonymKeyError(
            f"No pseudonymisation key: set {ENV_VAR}, or the Airflow Variable {AIRFLOW_VARIABLE}, or create "
            f"the local key file {path} (python -c 'from pipeline.privacy.pseudonym import ensure_local_key; "
            f'ensure_local_key()\')')
    if len(value) < MIN_KEY_CHARS:
        raise PseudonymKeyError(f"The pseudonymisation key from the {source} is shorter than {MIN_KEY_CHARS} "
                                "characters; use a random key, e.g. `python -c 'import secrets; "
                                "print(secrets.token_hex(32))'`")
    return value.encode("utf-8")


def _airflow_variable() -> str:
    """The Airflow Variable, or "" when Airflow is not installed, not configured or has no such Variable."""
    try:
        from airflow.sdk import Variable  # heavy import: only reached when the env var is unset
    except Exception:  # any import failure means "no Airflow here"
        return ""
    try:
        value = Variable.get(AIRFLOW_VARIABLE, default=None)
    except Exception:  # no metadata DB / no task context / backend error: fall through
        log.debug("Airflow Variable %s could not be read", AIRFLOW_VARIABLE)
        return ""
    return str(value).strip() if value else ""


def _warn_if_readable_by_others(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("Key file %s is accessible to group/others (mode %o); run chmod 600 on it",
                    path, stat.S_IMODE(mode))


def ensure_local_key(path: Path | None = None) -> Path:
    """Create a random 32-byte hex key file with mode 0600 (demo setups); an existing file is kept as is.

    ``path`` defaults to ``get_settings().key_file``. Returns the path. The key is not printed.
    """
    path = path if path is not None else get_settings().key_file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode is filtered by the umask; make 0600 explicit
    log.info("Created pseudonymisation key file %s (fingerprint %s)", path, key_fingerprint(value.encode()))
    return path


@lru_cache(maxsize=16)
def derive_key(key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose, so hashes made for different purposes can never be compared."""
    return hmac.digest(key, b"stemning:" + purpose.encode("utf-8"), "sha256")


def key_fingerprint(key: bytes) -> str:
    """8 hex chars identifying the key; safe to log and store (an HMAC of a constant reveals nothing of the
    key, as long as the key is random rather than a guessable passphrase)."""
    return hmac.digest(key, b"stemning:key-fingerprint/v1", "sha256").hex()[:8]


def normalise_identifier(value: str) -> str:
    """Unicode NFKC, surrounding whitespace removed; e-mail addresses are case-folded (case is not part of
    an address in practice). Other ids (Slack ``U…`` ids, HR numbers) keep their case."""
    normalised = unicodedata.normalize("NFKC", value).strip()
    if normalised.lower().startswith("mailto:"):
        normalised = normalised[len("mailto:"):]
    return normalised.casefold() if "@" in normalised else normalised


def pseudonymise(value: str, key: bytes) -> str:
    """Deterministic pseudonym ``p_<32 hex>`` for an author id under ``key``; different keys give unrelated
    pseudonyms. Raises ``ValueError`` for an empty id (it would give every anonymous row one pseudonym)."""
    normalised = normalise_identifier(value)
    if not normalised:
        raise ValueError("cannot pseudonymise an empty author id")
    digest = hmac.digest(derive_key(key, "author-pseudonym/v1"), normalised.encode("utf-8"), "sha256")
    return PSEUDONYM_PREFIX + digest.hex()[:PSEUDONYM_HEX_CHARS]
