"""The composite retention risk index: its weights and reference levels (documented in the data
dictionary; the SQL is sql/marts/45_retention_signals_monthly.sql).

Each signal is turned into a component in [0, 1] by dividing by a reference level (the level at which
the signal alone would count as "maximal" risk) and clamping; the index is the weighted mean of the
defined components × 100. Fixed reference levels (not a ranking against other teams) keep the index
comparable across months and companies. Weights and levels were tuned on simulated companies with
seeds 11–15 only; the reported validation figures use seeds 1–5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RiskWeights:
    w_leave_intent: float = 0.35
    w_trend: float = 0.15
    w_participation: float = 0.15
    w_workload: float = 0.2
    w_negativity: float = 0.15
    leave_intent_ref: float = 0.05    # 5 % of a month's messages show leave intent → component 1
    trend_ref: float = 0.05           # sentiment falling 0.05 per week over 8 weeks → component 1
    participation_ref: float = 0.5    # participation at half the unit's own baseline → component 1
    workload_ref: float = 0.10        # 10 % of messages negative about workload/management → component 1
    negativity_ref: float = 0.40      # 40 % negative messages → component 1

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


RISK_WEIGHTS = RiskWeights()
