"""DuckDB access: connections, versioned schema migrations, and running SQL model files.

One writer per DuckDB file: every write goes through ``connect()`` in a task that holds the Airflow
pool ``duckdb_writer`` (one slot), and the CLI opens the file only for the duration of a command.
Dashboards and analysts open the file read-only (``connect(read_only=True)``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.config import REPO_ROOT

SQL_DIR = REPO_ROOT / "sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class WarehouseLockedError(RuntimeError):
    pass


def _open(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"{path} is held by another process (DuckDB allows one writer and no concurrent "
                    "readers). Wait for the running task or close the other connection, then retry."
                ) from exc
            time.sleep(0.5)


@contextmanager
def connect(path: Path, read_only: bool = False, wait_s: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; writers migrate the schema first. Waits up to ``wait_s`` for a lock."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; run `stemning demo` or `stemning ingest …` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, wait_s)
    try:
        if not read_only:
            migrate(con)
            refresh_views(con, "staging")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK if the block raises."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: object) -> Iterator[str]:
    """Expose a pandas DataFrame to SQL as ``name`` for the duration of the block."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply sql/schema/NNN_*.sql files not yet applied, each in its own transaction. Re-runnable."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {v for (v,) in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    applied = []
    for f in sorted((SQL_DIR / "schema").glob("*.sql")):
        m = _MIGRATION_NAME.match(f.name)
        if not m:
            raise ValueError(f"bad migration file name {f.name}: expected NNN_snake_case.sql")
        version = int(m.group(1))
        if version in done:
            continue
        with transaction(con):
            con.execute(f.read_text())
            con.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [version, f.stem])
        applied.append(f.name)
    return applied


def sql_model_files(layer: str) -> list[Path]:
    """SQL model files of a layer (staging, marts), in dependency order (NN_ prefix)."""
    return sorted((SQL_DIR / layer).glob("*.sql"))


def refresh_views(con: duckdb.DuckDBPyConnection, layer: str) -> None:
    """(Re)create a layer's views. Cheap and idempotent, so every writer does it on connect."""
    for f in sql_model_files(layer):
        run_sql_file(con, f)


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(path.read_text())


def set_variables(con: duckdb.DuckDBPyConnection, **values: object) -> None:
    """Expose settings to SQL models as ``getvariable('name')``."""
    for name, value in values.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])


def table_counts(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, int]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (SELECT unnest(?)) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        [list(schemas)],
    ).fetchall()
    return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in rows}
