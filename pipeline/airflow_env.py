"""Point Airflow at the repo: its config file, DAG folder and a git-ignored home with a SQLite DB.

Called before anything imports airflow (the CLI, the demo, the test session). Values already in the
environment win, so a real deployment sets its own AIRFLOW_HOME / AIRFLOW__* and nothing changes.
"""

from __future__ import annotations

import os

from pipeline.config import REPO_ROOT

WRITER_POOL = "duckdb_writer"


def _local_jwt_secret(home: str) -> str:
    """One random JWT secret per Airflow home: `airflow standalone` runs its components as separate
    processes, and task tokens only verify if they all sign with the same secret."""
    import secrets

    path = os.path.join(home, "jwt_secret")
    if not os.path.exists(path):
        os.makedirs(home, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    with open(path) as fh:
        return fh.read().strip()


def airflow_defaults() -> dict[str, str]:
    home = os.environ.get("AIRFLOW_HOME", str(REPO_ROOT / ".airflow"))
    return {
        "AIRFLOW__API_AUTH__JWT_SECRET": _local_jwt_secret(home),
        "AIRFLOW_HOME": home,
        "AIRFLOW_CONFIG": str(REPO_ROOT / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def configure_airflow_env() -> dict[str, str]:
    for name, value in airflow_defaults().items():
        os.environ.setdefault(name, value)
    os.makedirs(os.environ["AIRFLOW_HOME"], exist_ok=True)
    return {k: os.environ[k] for k in airflow_defaults()}


def ensure_airflow_db() -> None:
    """Create or upgrade the metadata DB and the one-slot writer pool, in-process (idempotent)."""
    configure_airflow_env()
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.initdb()  # creates a fresh DB, or upgrades an existing one
    Pool.create_or_update_pool(
        WRITER_POOL, 1, "One DuckDB writer at a time (DuckDB allows a single writer process)", include_deferred=False
    )


if __name__ == "__main__":
    # `eval "$(python -m pipeline.airflow_env)"` exports the repo's Airflow settings into a shell.
    import shlex

    for name, value in airflow_defaults().items():
        print(f"export {name}={shlex.quote(os.environ.get(name, value))}")
