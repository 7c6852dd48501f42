"""Loads the simulator's text and organisation data files (YAML next to this module)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent
LANGUAGES: tuple[str, str] = ("da", "en")
SENTIMENTS: tuple[str, str, str] = ("negative", "neutral", "positive")
# Places a message can be posted (keys of an intent's `where`).
PLACES: tuple[str, ...] = ("team", "general", "random", "tech_help", "kudos", "intranet", "pulse")


def _load(name: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # a safe loader: plain data only


@dataclass(frozen=True)
class Intent:
    id: str
    sentiment: str
    themes: tuple[str, ...]
    kind: str
    weight: float
    where: tuple[tuple[str, float], ...]
    leave_intent: bool = False
    event: bool = False
    hard_negative: bool = False


@dataclass(frozen=True)
class ReplyPool:
    sentiment: str
    themes: tuple[str, ...]
    leave_intent: bool
    templates: tuple[str, ...]


@dataclass(frozen=True)
class TextBank:
    """All templates of one language."""

    lang: str
    slots: dict[str, tuple[str, ...]]
    openers: dict[str, tuple[str, ...]]
    closers: dict[str, tuple[str, ...]]
    intents: dict[str, tuple[str, ...]]
    replies: dict[str, tuple[ReplyPool, ...]]


@cache
def intents() -> dict[str, Intent]:
    raw = _load("intents.yaml")["intents"]
    out: dict[str, Intent] = {}
    for intent_id, spec in raw.items():
        out[intent_id] = Intent(
            id=intent_id,
            sentiment=spec["sentiment"],
            themes=tuple(spec["themes"]),
            kind=spec["kind"],
            weight=float(spec["weight"]),
            where=tuple((place, float(w)) for place, w in spec["where"].items()),
            leave_intent=bool(spec.get("leave_intent", False)),
            event=bool(spec.get("event", False)),
            hard_negative=bool(spec.get("hard_negative", False)),
        )
    return out


def _reply_pools(raw: dict[str, dict[str, list[str]]]) -> dict[str, tuple[ReplyPool, ...]]:
    pools: dict[str, tuple[ReplyPool, ...]] = {}
    for kind, by_key in raw.items():
        entries = []
        for key, templates in by_key.items():
            sentiment, *rest = key.split("|")
            themes = tuple(part for part in rest if part != "leave")
            entries.append(ReplyPool(sentiment, themes, "leave" in rest, tuple(templates)))
        pools[kind] = tuple(entries)
    return pools


@cache
def text_bank(lang: str) -> TextBank:
    raw = _load(f"texts_{lang}.yaml")
    return TextBank(
        lang=lang,
        slots={k: tuple(v) for k, v in raw["slots"].items()},
        openers={k: tuple(v) for k, v in raw["openers"].items()},
        closers={k: tuple(v) for k, v in raw["closers"].items()},
        intents={k: tuple(v) for k, v in raw["intents"].items()},
        replies=_reply_pools(raw["replies"]),
    )


@cache
def org_data() -> dict[str, Any]:
    return _load("org.yaml")


@cache
def name_data() -> dict[str, Any]:
    return _load("names.yaml")


@cache
def review_data() -> dict[str, Any]:
    return _load("reviews.yaml")
