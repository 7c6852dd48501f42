"""Privacy gate: pseudonyms for authors, PII redaction before storage/models, and the PII audit.

The most used names are re-exported here; the audit and its CLI (``stemning audit-pii``) live in
:mod:`pipeline.privacy.audit`, name-index persistence in :mod:`pipeline.privacy.store`.
"""

from pipeline.privacy.names import NameIndex, names_from_email
from pipeline.privacy.pseudonym import (
    PseudonymKeyError,
    ensure_local_key,
    key_fingerprint,
    load_key,
    pseudonymise,
)
from pipeline.privacy.redact import RedactionResult, Redactor

__all__ = [
    "NameIndex",
    "PseudonymKeyError",
    "RedactionResult",
    "Redactor",
    "ensure_local_key",
    "key_fingerprint",
    "load_key",
    "names_from_email",
    "pseudonymise",
]
