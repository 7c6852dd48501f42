"""Test-session setup. Airflow reads its env at import, so it is set here before anything imports it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="stemning-airflow-test-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}")
# A fixed test key: tests must never depend on a developer's real key.
os.environ.setdefault("STEMNING_PSEUDONYM_KEY", "test-key-not-secret-0123456789abcdef")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Shared fixtures live in modules owned by the feature they serve.
pytest_plugins = [
    "tests.fixtures.models",
    "tests.fixtures.company",
    "tests.fixtures.themes",
]


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite in a temp AIRFLOW_HOME) with the writer pool."""
    from pipeline.airflow_env import ensure_airflow_db

    ensure_airflow_db()
    return _AIRFLOW_HOME
