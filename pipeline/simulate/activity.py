"""Week-by-week posting: who writes what, where and when, following each team's planted mood.

Each employee writes a Poisson number of top-level posts a week (their own habit x team mood x
holiday season x days employed); threads attract replies (mostly from the same team, some from
others) and reactions. Once a month a pulse survey collects free-text answers, where people are more
candid. Hires, resignations and farewells produce their own posts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pipeline.simulate.data import Intent, ReplyPool, intents
from pipeline.simulate.dk_calendar import day_weight, season_factor
from pipeline.simulate.lifecycle import Discontent, Turnover
from pipeline.simulate.org import Company, Employee, Team
from pipeline.simulate.posts import CSV_INTRANET, SLACK_CHANNELS, Post, route
from pipeline.simulate.signals import Mood, SignalPlan
from pipeline.simulate.textgen import Composer, TextContext

TOP_LEVEL_PER_WEEK = 1.05  # mean top-level posts per person-week for an average poster
PULSE_RESPONSE = 0.35
THREAD_P = {"question": 0.75, "complaint": 0.3, "praise": 0.4, "announcement": 0.3, "celebration": 0.6,
            "welcome": 0.85, "leave": 0.75, "farewell": 0.7, "share": 0.35, "social": 0.35, "update": 0.15,
            "request": 0.5}
REPLY_COUNTS, REPLY_COUNT_WEIGHTS = (1, 2, 3, 4, 5, 6, 8), (40, 27, 14, 8, 5, 3, 3)
REACTION_MEAN = {"praise": 4.0, "celebration": 5.0, "welcome": 4.0, "farewell": 4.0, "leave": 2.5,
                 "announcement": 1.5, "complaint": 1.4, "share": 1.5, "social": 0.8, "question": 0.3}
REACTIONS = {
    "positive": ("tada", "heart", "raised_hands", "clap", "+1", "100", "fire", "heart_eyes"),
    "negative": ("+1", "100", "sweat_smile", "disappointed", "face_with_rolling_eyes", "upside_down_face"),
    "neutral": ("+1", "white_check_mark", "eyes", "pray", "raised_hands"),
}
# Working hours 7-17 with a dip at lunch; a few posts late in the evening.
HOURS, HOUR_WEIGHTS = tuple(range(7, 18)), (2, 6, 9, 9, 7, 5, 7, 8, 7, 5, 3)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass
class _Tables:
    """Intents a mood can pick from, by sentiment, for ordinary posts and for pulse answers."""

    ordinary: dict[str, list[tuple[Intent, float]]]
    pulse: dict[str, list[tuple[Intent, float]]]
    leave: Intent

    @classmethod
    def build(cls) -> _Tables:
        ordinary: dict[str, list[tuple[Intent, float]]] = {"negative": [], "neutral": [], "positive": []}
        pulse: dict[str, list[tuple[Intent, float]]] = {"negative": [], "neutral": [], "positive": []}
        for intent in intents().values():
            if intent.event or intent.leave_intent:
                continue
            places = dict(intent.where)
            if any(p != "pulse" for p in places):
                ordinary[intent.sentiment].append((intent, intent.weight))
            if "pulse" in places:
                pulse[intent.sentiment].append((intent, intent.weight * places["pulse"]))
        return cls(ordinary, pulse, intents()["leave_intent"])


class ActivitySimulator:
    def __init__(self, rng: random.Random, company: Company, plan: SignalPlan, turnover: Turnover,
                 activity_scale: float = 1.0) -> None:
        self.rng = rng
        self.company = company
        self.plan = plan
        self.turnover = turnover
        self.scale = activity_scale
        self.composer = Composer(rng)
        self.tables = _Tables.build()
        self.posts: list[Post] = []
        self.teams = {t.name: t for t in company.teams}
        self.members: dict[str, list[Employee]] = {t.name: [] for t in company.teams}
        for e in company.employees:
            self.members[e.team].append(e)
        self.managers = {t: next((e for e in ms if e.is_manager), ms[0]) for t, ms in self.members.items() if ms}
        self.slack_users = [e for e in company.employees if e.slack_id]
        self.end = plan.start + timedelta(weeks=plan.weeks) - timedelta(days=1)
        self._week_cache: dict[tuple[str, int], list[Employee]] = {}

    # ------------------------------------------------------------------ public
    def run(self) -> list[Post]:
        for week in range(self.plan.weeks):
            monday = self.plan.week_monday(week)
            days = [monday + timedelta(days=i) for i in range(7)]
            season = season_factor(monday)
            for team in self.company.teams:
                mood = self.plan.mood(team.name, week)
                for e in self._employed(team.name, week):
                    self._person_week(e, team, mood, week, days, season)
                if monday.day <= 7:  # the monthly pulse survey opens on the first Monday
                    for e in self._employed(team.name, week):
                        self._pulse_answer(e, team, mood, week, days)
        self._events()
        return self.posts

    # ------------------------------------------------------------------ weekly posting
    def _employed(self, team: str, week: int) -> list[Employee]:
        key = (team, week)
        if key not in self._week_cache:
            monday = self.plan.week_monday(week)
            sunday = monday + timedelta(days=6)
            self._week_cache[key] = [
                e for e in self.members[team]
                if e.hire_date <= sunday and (e.termination_date is None or e.termination_date >= monday)
            ]
        return self._week_cache[key]

    def _discontent(self, e: Employee, week: int) -> Discontent | None:
        d = self.turnover.discontent.get(e.email)
        return d if d is not None and d.covers(week) else None

    def _person_week(self, e: Employee, team: Team, mood: Mood, week: int, days: list[date], season: float) -> None:
        weights = [day_weight(d) if e.employed_on(d) else 0.0 for d in days]
        total = sum(day_weight(d) for d in days)
        if total == 0 or sum(weights) == 0:
            return
        disc = self._discontent(e, week)
        lam = TOP_LEVEL_PER_WEEK * self.scale * e.activity * mood.rate * season * sum(weights) / total
        if e.is_manager:
            lam *= 1.3
        if (days[0] - e.hire_date).days < 14:
            lam *= 0.5
        if disc is not None:
            lam *= 0.8
        for _ in range(poisson(self.rng, lam)):
            intent = self._pick_intent(e, mood, disc, pulse=False)
            places = [(p, w) for p, w in intent.where if p != "pulse"]
            place = self.rng.choices([p for p, _ in places], weights=[w for _, w in places])[0]
            day = self.rng.choices(days, weights=weights)[0]
            post = self._post(e, team, intent, place, self._work_time(day))
            self._thread(post, team, mood)

    def _pulse_answer(self, e: Employee, team: Team, mood: Mood, week: int, days: list[date]) -> None:
        workdays = [d for d in days[:5] if e.employed_on(d) and day_weight(d) > 0]
        if not workdays or self.rng.random() >= PULSE_RESPONSE * min(1.0, math.sqrt(mood.rate)):
            return
        intent = self._pick_intent(e, mood, self._discontent(e, week), pulse=True)
        self._post(e, team, intent, "pulse", self._work_time(self.rng.choice(workdays)))

    def _pick_intent(self, e: Employee, mood: Mood, disc: Discontent | None, pulse: bool) -> Intent:
        rng = self.rng
        p_leave = mood.p_leave + (disc.p_leave if disc else 0.0)
        p_neg = mood.p_neg + e.grumpiness + (disc.extra_neg if disc else 0.0)
        p_pos = mood.p_pos * (0.6 if disc else 1.0)
        if pulse:  # survey answers are more candid than chat, above all about leaving
            p_leave, p_neg = 2.5 * p_leave, 1.15 * p_neg
        if rng.random() < p_leave:
            return self.tables.leave
        p_neg = min(0.85, max(0.0, p_neg))
        roll = rng.random()
        sentiment = "negative" if roll < p_neg else "positive" if roll < p_neg + p_pos else "neutral"
        table = (self.tables.pulse if pulse else self.tables.ordinary)[sentiment]
        weights = [w * self._theme_boost(i, mood) if sentiment == "negative" else w for i, w in table]
        return rng.choices([i for i, _ in table], weights=weights)[0]

    @staticmethod
    def _theme_boost(intent: Intent, mood: Mood) -> float:
        boost = 1.0
        for theme in intent.themes:
            boost *= mood.theme_boost.get(theme, 1.0)
        return boost

    def _work_time(self, day: date) -> datetime:
        rng = self.rng
        hour = rng.randint(19, 22) if rng.random() < 0.04 else rng.choices(HOURS, weights=HOUR_WEIGHTS)[0]
        return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60), rng.randrange(1_000_000)))

    # ------------------------------------------------------------------ posts, threads, reactions
    def _context(self, author: Employee, team: Team, platform: str, day: date, **extra: object) -> TextContext:
        colleagues = [e for e in self.members[team.name] if e.employed_on(day)] or self.members[team.name]
        return TextContext(author=author, colleagues=colleagues, manager=self.managers[team.name],
                           platform=platform, day=day, team=team.name, department=team.department,
                           company=self.company.name, **extra)  # type: ignore[arg-type]

    def _post(self, author: Employee, team: Team, intent: Intent, place: str, at: datetime,
              lang: str | None = None, **extra: object) -> Post:
        platform, channel = route(author, team, place)
        lang = lang or ("da" if self.rng.random() < author.p_danish_text else "en")
        ctx = self._context(author, team, platform, at.date(), **extra)
        msg = self.composer.message(intent, lang, ctx, decorate=place != "pulse")
        post = Post(seq=len(self.posts), platform=platform, channel=channel, author=author, at=at, text=msg.text,
                    lang=lang, intent=intent.id, sentiment=intent.sentiment, themes=intent.themes,
                    leave_intent=intent.leave_intent, pii=tuple(sorted(msg.pii)))
        self.posts.append(post)
        if place != "pulse":
            self._react(post, intent.kind, team)
        return post

    def _channel_members(self, post: Post, team: Team) -> list[Employee]:
        if post.channel == CSV_INTRANET:
            return self.company.employees
        if post.platform == "slack" and post.channel in SLACK_CHANNELS.values():
            return self.slack_users
        return self.members[team.name]

    def _thread(self, post: Post, team: Team, mood: Mood) -> None:
        kind = intents()[post.intent].kind
        if post.channel == "pulse" or self.rng.random() >= THREAD_P.get(kind, 0.2):
            return
        rng = self.rng
        company_wide = post.channel in SLACK_CHANNELS.values() or post.channel == CSV_INTRANET
        cross_team_p = 0.6 if company_wide else 0.06
        at = post.at
        for _ in range(rng.choices(REPLY_COUNTS, weights=REPLY_COUNT_WEIGHTS)[0]):
            at += timedelta(minutes=1 + rng.expovariate(1 / 45))
            if at.date() > self.end:
                break
            pool_members = self._channel_members(post, team) if rng.random() < cross_team_p else self.members[team.name]
            author = self._replier(pool_members, post, at.date())
            if author is None:
                continue
            self._reply(post, author, kind, team, mood, at)

    def _replier(self, candidates: list[Employee], parent: Post, day: date) -> Employee | None:
        """Someone employed that day, other than the parent's author, who can post on its platform."""
        for _ in range(4):
            e = self.rng.choices(candidates, weights=[c.activity + 0.1 for c in candidates])[0]
            if e is not parent.author and e.employed_on(day) and (e.slack_id or parent.platform != "slack"):
                return e
        return None

    def _reply(self, parent: Post, author: Employee, kind: str, team: Team, mood: Mood, at: datetime) -> None:
        rng = self.rng
        lang = parent.lang if rng.random() < 0.85 else ("da" if rng.random() < author.p_danish_text else "en")
        replies = self.composer.banks[lang].replies
        pools = replies.get(kind) or replies["update"]
        # Replies echo the team's mood: agreement with complaints is more common in a sour team.
        factor = {"negative": mood.p_neg / 0.15, "neutral": 1.0, "positive": mood.p_pos / 0.22}
        weights = [math.sqrt(len(p.templates)) * factor[p.sentiment] * (mood.p_leave / 0.01 if p.leave_intent else 1)
                   for p in pools]
        pool: ReplyPool = rng.choices(pools, weights=weights)[0]
        author_team = self.teams[author.team]
        ctx = self._context(author, author_team, parent.platform, at.date())
        msg = self.composer.reply(pool, lang, ctx)
        reply = Post(seq=len(self.posts), platform=parent.platform, channel=parent.channel, author=author, at=at,
                     text=msg.text, lang=lang, intent=f"reply:{kind}", sentiment=pool.sentiment,
                     themes=pool.themes, leave_intent=pool.leave_intent, pii=tuple(sorted(msg.pii)), parent=parent)
        parent.replies.append(reply)
        self.posts.append(reply)
        if rng.random() < 0.3:
            self._react(reply, "reply", team, scale=0.5)

    def _react(self, post: Post, kind: str, team: Team, scale: float = 1.0) -> None:
        rng = self.rng
        n = poisson(rng, REACTION_MEAN.get(kind, 0.5) * scale)
        if n == 0:
            return
        if post.platform == "csv":
            post.reaction_count = n
            return
        members = self._channel_members(post, team)
        pool = [e for e in rng.sample(members, min(len(members), 3 * n + 3))
                if e is not post.author and e.employed_on(post.at.date())][:n]
        if not pool:
            return
        names = REACTIONS[post.sentiment]
        chosen = rng.sample(names, k=min(len(names), rng.choice((1, 1, 2, 3))))
        by_name: dict[str, list[Employee]] = {name: [] for name in chosen}
        for e in pool:
            by_name[rng.choice(chosen)].append(e)
        post.reactions = [(name, users) for name, users in by_name.items() if users]
        post.reaction_count = sum(len(u) for _, u in post.reactions)

    # ------------------------------------------------------------------ events
    def _events(self) -> None:
        rng, start, end = self.rng, self.plan.start, self.end
        ev = intents()
        for e in self.company.employees:
            if not start <= e.hire_date <= end:
                continue
            team = self.teams[e.team]
            week = (e.hire_date - start).days // 7
            mood = self.plan.mood(team.name, week)
            if rng.random() < 0.85:
                manager = self.managers[team.name]
                host = manager if manager.employed_on(e.hire_date) else e
                if host is not e:
                    at = datetime.combine(e.hire_date, time(9, rng.randrange(60), rng.randrange(60)))
                    post = self._post(host, team, ev["welcome_newhire"], "team", at, newhire=e)
                    self._thread(post, team, mood)
            if rng.random() < 0.5:
                at = datetime.combine(e.hire_date, time(rng.randint(10, 15), rng.randrange(60), rng.randrange(60)))
                post = self._post(e, team, ev["newhire_hello"], "team", at, newhire=e)
                self._thread(post, team, mood)
        for r in self.turnover.resignations:
            e, team = r.employee, self.teams[r.employee.team]
            disc = self.turnover.discontent.get(e.email)
            announce_day = r.decision_day + timedelta(days=rng.randint(1, 6))
            if start <= announce_day <= min(end, r.last_day) and day_weight(announce_day) > 0.5 \
                    and rng.random() < (0.6 if disc else 0.4):
                mood = self.plan.mood(team.name, (announce_day - start).days // 7)
                post = self._post(e, team, ev["resignation"], "team", self._work_time(announce_day),
                                  leave_date=r.last_day)
                self._thread(post, team, mood)
            last = r.last_day
            while last.weekday() >= 5:
                last -= timedelta(days=1)
            colleagues = [c for c in self.members[team.name] if c is not e and c.employed_on(last)]
            if start <= last <= end and colleagues and rng.random() < 0.6:
                mood = self.plan.mood(team.name, (last - start).days // 7)
                at = datetime.combine(last, time(rng.randint(9, 14), rng.randrange(60), rng.randrange(60)))
                post = self._post(rng.choice(colleagues), team, ev["farewell_colleague"], "team", at, leaver=e)
                self._thread(post, team, mood)
