"""All runtime settings in one place.

Every setting has a documented default and an environment variable that overrides it (the README's
"Configuration" table is generated from ``SETTINGS_DOC``). Airflow tasks read the same variables, so a
DAG run and a CLI run behave identically. Secrets (the pseudonymisation key) never have a default
value in the repo: they come from the environment, an Airflow Variable, or a local key file that git
ignores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (env var, default, meaning)
SETTINGS_DOC: dict[str, tuple[str, str, str]] = {
    "db_path": ("STEMNING_DB", "warehouse/stemning.duckdb", "DuckDB warehouse file (relative paths are from the repo root)"),
    "landing_dir": ("STEMNING_LANDING", "landing", "Landing folder the ingestion DAGs watch: <landing>/{posts,reviews,roster}/"),
    "key_file": ("STEMNING_KEY_FILE", "secrets/pseudonym.key", "Local pseudonymisation key file, used only when STEMNING_PSEUDONYM_KEY and the Airflow Variable are unset"),
    "min_group_size": ("STEMNING_MIN_GROUP_SIZE", "5", "k-anonymity threshold: groups with fewer distinct people are suppressed in every mart"),
    "min_group_size_text": ("STEMNING_MIN_GROUP_SIZE_TEXT", "10", "Higher threshold for comment/theme-level figures"),
    "sentiment_model": ("STEMNING_SENTIMENT_MODEL", "e5-small-sentiment", "Default sentiment model id (see `stemning models list`)"),
    "torch_threads": ("STEMNING_TORCH_THREADS", "0", "Torch intra-op threads for scoring (0 = all cores)"),
    "batch_size": ("STEMNING_BATCH_SIZE", "32", "Scoring batch size"),
    "precision": ("STEMNING_PRECISION", "auto", "Transformer weights precision: `auto` (bf16 where the CPU has native bf16 instructions, AMX or AVX512-BF16, else fp32), `fp32` or `bf16`; part of the recorded model version"),
    "theme_classifier": ("STEMNING_THEME_CLASSIFIER", "e5", "HR themes: `e5` (default) adds a learned per-sentence classifier on the e5 encoder's embeddings to the term matcher (README 'Themes and leave intent'), `off` = term matcher only (much faster, fewer implicit mentions found); part of the recorded taxonomy version"),
    "leave_model": ("STEMNING_LEAVE_MODEL", "e5-lora", "Leave intent: `e5-lora` (default) adds a fine-tuned e5 model that reads the whole post and finds leave intent that is only hinted at (README 'Themes and leave intent'; one more encoder pass per post), `off` = the theme head's leave unit and the rules only (faster, misses most implicit leave intent); used only with STEMNING_THEME_CLASSIFIER=e5; part of the recorded taxonomy version"),
    "retention_days": ("STEMNING_RETENTION_DAYS", "180", "Raw/staging text older than this is purged by the retention DAG"),
    "max_future_skew_hours": ("STEMNING_MAX_FUTURE_SKEW_HOURS", "24", "Timestamps further in the future than this are quarantined"),
}


PRECISIONS = ("auto", "fp32", "bf16")
THEME_CLASSIFIERS = ("e5", "off")
LEAVE_MODELS = ("e5-lora", "off")


def _env(name: str) -> str:
    var, default, _ = SETTINGS_DOC[name]
    return os.environ.get(var, default)


def _path(value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


@dataclass(frozen=True)
class Settings:
    db_path: Path = field(default_factory=lambda: _path(_env("db_path")))
    landing_dir: Path = field(default_factory=lambda: _path(_env("landing_dir")))
    key_file: Path = field(default_factory=lambda: _path(_env("key_file")))
    min_group_size: int = field(default_factory=lambda: int(_env("min_group_size")))
    min_group_size_text: int = field(default_factory=lambda: int(_env("min_group_size_text")))
    sentiment_model: str = field(default_factory=lambda: _env("sentiment_model"))
    torch_threads: int = field(default_factory=lambda: int(_env("torch_threads")))
    batch_size: int = field(default_factory=lambda: int(_env("batch_size")))
    precision: str = field(default_factory=lambda: _env("precision"))
    theme_classifier: str = field(default_factory=lambda: _env("theme_classifier"))
    leave_model: str = field(default_factory=lambda: _env("leave_model"))
    retention_days: int = field(default_factory=lambda: int(_env("retention_days")))
    max_future_skew_hours: int = field(default_factory=lambda: int(_env("max_future_skew_hours")))

    def __post_init__(self) -> None:
        checked_choice(None, self.precision, PRECISIONS, "STEMNING_PRECISION")
        checked_choice(None, self.theme_classifier, THEME_CLASSIFIERS, "STEMNING_THEME_CLASSIFIER")
        checked_choice(None, self.leave_model, LEAVE_MODELS, "STEMNING_LEAVE_MODEL")
        if self.min_group_size < 2:
            raise ValueError(f"STEMNING_MIN_GROUP_SIZE must be >= 2 (got {self.min_group_size}); "
                             "smaller groups would expose individuals")


def checked_choice(value: str | None, setting: str, choices: tuple[str, ...], what: str) -> str:
    """``value`` if given, else the setting's value; refused unless it is one of ``choices``."""
    choice = value or setting
    if choice not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)} (got {choice!r})")
    return choice


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit keyword overrides (e.g. ``db_path`` from ``--db``)."""
    s = Settings()
    if not overrides:
        return s
    values = {k: getattr(s, k) for k in s.__dataclass_fields__}
    for k, v in overrides.items():
        if v is None:
            continue
        values[k] = _path(str(v)) if k.endswith(("_path", "_dir", "_file")) else v
    return Settings(**values)  # type: ignore[arg-type]
