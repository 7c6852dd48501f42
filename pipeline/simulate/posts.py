"""The post record every writer reads, and where a post lands (Slack channel or CSV channel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.simulate.org import Employee, Team

# Company-wide Slack channels; each Slack team also has "team-<slug>".
SLACK_CHANNELS: dict[str, str] = {
    "general": "general",
    "random": "random",
    "tech_help": "tech-help",
    "kudos": "ros-og-tak",
}
CSV_INTRANET, CSV_PULSE = "intranet", "pulse"


@dataclass
class Post:
    seq: int  # creation order: the deterministic tie-break for equal timestamps
    platform: str  # "slack" or "csv"
    channel: str
    author: Employee
    at: datetime  # Copenhagen wall-clock time (naive)
    text: str
    lang: str
    intent: str
    sentiment: str
    themes: tuple[str, ...]
    leave_intent: bool
    pii: tuple[str, ...]
    parent: Post | None = None
    reactions: list[tuple[str, list[Employee]]] = field(default_factory=list)
    reaction_count: int = 0
    replies: list[Post] = field(default_factory=list)
    post_id: str = ""  # CSV id, or "<channel>/<ts>" for Slack (set by the writers)
    ts: str = ""  # Slack ts


def team_channel(team: Team, slack: bool) -> str:
    return f"team-{team.slug}" if slack else f"teams/{team.slug}"


def route(author: Employee, team: Team, place: str) -> tuple[str, str]:
    """(platform, channel) for a post by ``author`` in ``place``.

    Departments that chat in Microsoft Teams have no Slack account: their team chat, and anything they
    would have posted company-wide, is exported as CSV posts in their team's Teams channel.
    """
    if place == "intranet":
        return "csv", CSV_INTRANET
    if place == "pulse":
        return "csv", CSV_PULSE
    if author.slack_id is None:
        return "csv", team_channel(team, slack=False)
    if place == "team":
        return "slack", team_channel(team, slack=True)
    return "slack", SLACK_CHANNELS[place]
