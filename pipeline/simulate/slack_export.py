"""Writes a Slack workspace export: users.json, channels.json and <channel>/<YYYY-MM-DD>.json.

Follows the layout of Slack's standard export: one file per channel and UTC day holding that day's
messages oldest first; thread parents carry ``reply_count``/``reply_users``/``latest_reply``,
replies carry ``thread_ts`` and ``parent_user_id``; reactions list user ids. Besides people's
messages there are ``channel_join`` and ``bot_message`` events that ingestion must skip.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pipeline.simulate.dk_calendar import copenhagen, day_weight
from pipeline.simulate.org import Company, Employee
from pipeline.simulate.posts import Post, team_channel

_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BOTS = (("standup", "Standup Bot"), ("google-calendar", "Google Calendar"), ("jira-cloud", "Jira Cloud"))


def slack_id(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        candidate = prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(8))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def assign_slack_ids(rng: random.Random, company: Company, taken: set[str]) -> None:
    slack_teams = {t.name for t in company.teams if t.chat == "slack"}
    for e in company.employees:
        if e.team in slack_teams:
            e.slack_id = slack_id(rng, "U", taken)


def epoch(local: datetime) -> float:
    return copenhagen(local).timestamp()


def _json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")


class SlackExportWriter:
    def __init__(self, rng: random.Random, company: Company, team_id: str, start: date, end: date) -> None:
        self.rng = rng
        self.company = company
        self.team_id = team_id
        self.start, self.end = start, end
        self.users = [e for e in company.employees if e.slack_id]
        self._taken: set[str] = {e.slack_id for e in self.users if e.slack_id}
        self.channel_ids: dict[str, str] = {}
        self.bots = {key: (slack_id(rng, "U", self._taken), slack_id(rng, "B", self._taken), label)
                     for key, label in BOTS}
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._ts_used: dict[str, set[str]] = defaultdict(set)

    def _ts(self, channel: str, local: datetime) -> str:
        """Unique per channel, microsecond precision, as Slack writes it."""
        value = round(epoch(local) * 1_000_000)
        while True:
            ts = f"{value // 1_000_000}.{value % 1_000_000:06d}"
            if ts not in self._ts_used[channel]:
                self._ts_used[channel].add(ts)
                return ts
            value += 1

    def channels(self) -> list[tuple[str, list[Employee]]]:
        out: list[tuple[str, list[Employee]]] = [("general", self.users), ("random", self.users)]
        out.append(("tech-help", [e for e in self.users if self.rng.random() < 0.7]))
        out.append(("ros-og-tak", [e for e in self.users if self.rng.random() < 0.8]))
        for team in self.company.teams:
            if team.chat == "slack":
                out.append((team_channel(team, slack=True), [e for e in self.users if e.team == team.name]))
        return out

    def write(self, out: Path, posts: list[Post]) -> dict[str, int]:
        channels = self.channels()
        for name, _ in channels:
            self.channel_ids[name] = slack_id(self.rng, "C", self._taken)
        slack_posts = sorted((p for p in posts if p.platform == "slack"), key=lambda p: (p.at, p.seq))
        members = {name: list(ms) for name, ms in channels}
        member_ids = {name: {e.slack_id for e in ms} for name, ms in channels}
        for post in slack_posts:
            post.ts = self._ts(post.channel, post.at)
            post.post_id = f"{post.channel}/{post.ts}"
            if post.author.slack_id not in member_ids[post.channel]:  # cross-team posters join the channel
                member_ids[post.channel].add(post.author.slack_id)
                members[post.channel].append(post.author)
        for post in slack_posts:
            self.messages[post.channel].append(self._message(post))
        self._joins()
        self._bot_messages(channels)

        _json(out / "users.json", self._users_json())
        _json(out / "channels.json", [self._channel_json(name, members[name]) for name, _ in channels])
        n_files = 0
        for name, _ in channels:
            by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for msg in sorted(self.messages[name], key=lambda m: m["ts"]):
                utc_day = datetime.fromtimestamp(float(msg["ts"]), tz=UTC).date().isoformat()
                by_day[utc_day].append(msg)
            for day, msgs in by_day.items():
                _json(out / name / f"{day}.json", msgs)
                n_files += 1
        return {"slack_messages": len(slack_posts), "slack_day_files": n_files, "slack_channels": len(channels),
                "slack_users": len(self.users)}

    # ------------------------------------------------------------------ json shapes
    def _profile(self, e: Employee) -> dict[str, Any]:
        display = self.rng.choice([e.first_name, e.first_name, e.first_name.lower(), ""])
        return {"title": "", "phone": "", "real_name": e.name, "real_name_normalized": e.name,
                "display_name": display, "display_name_normalized": display, "email": e.email,
                "first_name": e.first_name, "last_name": e.last_name, "team": self.team_id}

    def _users_json(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        for e in self.users:
            users.append({"id": e.slack_id, "team_id": self.team_id, "name": e.email.split("@")[0],
                          "deleted": e.termination_date is not None, "real_name": e.name,
                          "tz": "Europe/Copenhagen", "tz_label": "Central European Time", "tz_offset": 3600,
                          "profile": self._profile(e), "is_admin": False, "is_bot": False, "is_app_user": False})
        for key, (uid, bid, label) in self.bots.items():
            users.append({"id": uid, "team_id": self.team_id, "name": key, "deleted": False, "real_name": label,
                          "profile": {"real_name": label, "display_name": "", "bot_id": bid, "team": self.team_id},
                          "is_admin": False, "is_bot": True, "is_app_user": False})
        return users

    def _channel_json(self, name: str, members: list[Employee]) -> dict[str, Any]:
        creator = members[0].slack_id if members else self.users[0].slack_id
        created = int(epoch(datetime.combine(self.start - timedelta(days=400), time(9))))
        purpose = {"general": "Fælles beskeder til hele firmaet", "random": "Alt det andet",
                   "tech-help": "Spørgsmål om IT og værktøjer", "ros-og-tak": "Ros og tak til kollegaer"}
        return {"id": self.channel_ids[name], "name": name, "created": created, "creator": creator,
                "is_archived": False, "is_general": name == "general",
                "members": [e.slack_id for e in members],
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": purpose.get(name, ""), "creator": creator, "last_set": created}}

    def _message(self, post: Post) -> dict[str, Any]:
        assert post.author.slack_id is not None
        msg: dict[str, Any] = {
            "client_msg_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": "message", "text": post.text, "user": post.author.slack_id, "ts": post.ts,
            "team": self.team_id,
            "user_profile": {"real_name": post.author.name, "display_name": post.author.first_name,
                             "first_name": post.author.first_name, "name": post.author.email.split("@")[0]},
        }
        if post.replies:
            replies = sorted(post.replies, key=lambda r: (r.at, r.seq))
            reply_users = list(dict.fromkeys(r.author.slack_id for r in replies))
            msg.update(thread_ts=post.ts, reply_count=len(replies), reply_users_count=len(reply_users),
                       latest_reply=replies[-1].ts, reply_users=reply_users, is_locked=False, subscribed=False)
        if post.parent is not None:
            msg.update(thread_ts=post.parent.ts, parent_user_id=post.parent.author.slack_id)
        if post.reactions:
            msg["reactions"] = [{"name": name, "users": [u.slack_id for u in users], "count": len(users)}
                                for name, users in post.reactions]
        if self.rng.random() < 0.03:
            edited = float(post.ts) + self.rng.randint(20, 600)
            msg["edited"] = {"user": post.author.slack_id, "ts": f"{edited:.6f}"}
        return msg

    def _joins(self) -> None:
        for e in self.users:
            if not self.start <= e.hire_date <= self.end:
                continue
            team = self.company.team(e.team)
            for name in ("general", "random", team_channel(team, slack=True)):
                local = datetime.combine(e.hire_date, time(8, self.rng.randrange(60), self.rng.randrange(60)))
                self.messages[name].append({"type": "message", "subtype": "channel_join", "ts": self._ts(name, local),
                                            "user": e.slack_id, "text": f"<@{e.slack_id}> has joined the channel"})

    def _bot_messages(self, channels: list[tuple[str, list[Employee]]]) -> None:
        standup_uid, standup_bid, standup_label = self.bots["standup"]
        cal_uid, cal_bid, cal_label = self.bots["google-calendar"]
        jira_uid, jira_bid, jira_label = self.bots["jira-cloud"]
        day = self.start
        while day <= self.end:
            if day_weight(day) > 0 and day.weekday() < 5:
                for name, _ in channels:
                    if name.startswith("team-") and day.weekday() == 0:
                        self._bot(name, day, time(8, 30), standup_bid, standup_uid, standup_label,
                                  "Godmorgen! :wave: Husk at skrive jeres standup i tråden :point_down:")
                if day.weekday() == 3:
                    self._bot("general", day, time(13, 55), cal_bid, cal_uid, cal_label,
                              "Påmindelse: *Fredagsbar* i morgen kl. 15 i kantinen")
                if self.rng.random() < 0.3:
                    key = f"IT-{self.rng.randint(1000, 9999)}"
                    self._bot("tech-help", day, time(self.rng.randint(8, 16), self.rng.randrange(60)), jira_bid,
                              jira_uid, jira_label, f"Sag *{key}* er løst og lukket :white_check_mark:")
            day += timedelta(days=1)

    def _bot(self, channel: str, day: date, at: time, bot_id: str, user: str, label: str, text: str) -> None:
        ts = self._ts(channel, datetime.combine(day, at))
        self.messages[channel].append({"type": "message", "subtype": "bot_message", "text": text, "ts": ts,
                                       "bot_id": bot_id, "username": label, "user": user})
