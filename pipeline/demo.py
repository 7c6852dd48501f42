"""`stemning demo`: the whole pipeline, through the real Airflow DAGs, on the bundled sample data.

No scheduler or server: each DAG runs with ``dag.test()`` in this process, in dependency order (the
order the Assets would trigger them in production). Idempotent: a second run ingests nothing new,
scores nothing new and rebuilds identical marts.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from pipeline.config import Settings

DAG_ORDER = (
    "stemning_ingest_roster",
    "stemning_ingest_posts",
    "stemning_ingest_reviews",
    "stemning_nlp",
    "stemning_marts",
)
# sample file -> landing path (relative to the landing folder)
SAMPLE_LAYOUT = {
    "roster.csv": "roster/roster.csv",
    "slack": "posts/slack_export",
    "posts.csv": "posts/intranet_posts.csv",
    "reviews.csv": "reviews/employer_reviews.csv",
}


def stage_sample_data(sample_dir: Path, landing: Path) -> list[Path]:
    """Copy the sample company into the landing folder (unchanged files are left alone)."""
    staged = []
    for src_name, dst_rel in SAMPLE_LAYOUT.items():
        src, dst = sample_dir / src_name, landing / dst_rel
        if not src.exists():
            raise FileNotFoundError(f"sample data incomplete: {src} is missing (regenerate with `stemning simulate`)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copy2(src, dst)
        staged.append(dst)
    return staged


def export_settings(settings: Settings) -> None:
    """Tasks read settings from the environment; make them see the same ones as this command."""
    os.environ["STEMNING_DB"] = str(settings.db_path)
    os.environ["STEMNING_LANDING"] = str(settings.landing_dir)
    os.environ["STEMNING_KEY_FILE"] = str(settings.key_file)
    os.environ["STEMNING_MIN_GROUP_SIZE"] = str(settings.min_group_size)
    os.environ["STEMNING_SENTIMENT_MODEL"] = settings.sentiment_model


def run_dags(dag_ids: tuple[str, ...] = DAG_ORDER) -> dict[str, float]:
    """dag.test() each DAG in order; raise naming the failed DAG and tasks. Returns seconds per DAG."""
    from airflow.dag_processing.dagbag import DagBag

    from pipeline.airflow_env import ensure_airflow_db

    ensure_airflow_db()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    timings = {}
    for dag_id in dag_ids:
        t0 = time.perf_counter()
        print(f"▶ {dag_id}", file=sys.stderr, flush=True)
        dagrun = bag.dags[dag_id].test()
        state = str(getattr(dagrun, "state", "")).lower()
        if not state.endswith("success"):
            failed = [ti.task_id for ti in dagrun.get_task_instances() if str(ti.state).lower().endswith("failed")]
            raise RuntimeError(f"DAG {dag_id} ended {state}; failed task(s): {failed}. See the log above.")
        timings[dag_id] = round(time.perf_counter() - t0, 1)
    return timings


def run_demo(settings: Settings, sample_dir: Path, fresh: bool = False) -> int:
    from pipeline.airflow_env import configure_airflow_env
    from pipeline.privacy.pseudonym import ensure_local_key
    from pipeline.summary import print_summary

    configure_airflow_env()
    if not os.environ.get("STEMNING_PSEUDONYM_KEY"):
        ensure_local_key(settings.key_file)
    if fresh and settings.db_path.exists():
        settings.db_path.unlink()
    export_settings(settings)
    stage_sample_data(sample_dir, settings.landing_dir)
    t0 = time.perf_counter()
    timings = run_dags()
    print_summary(settings.db_path, timings, time.perf_counter() - t0)
    return 0
