-- marts.retention_signals_monthly: early-warning signals of attrition per org unit × month, a composite
-- risk index in [0, 100], and realised attrition from the roster (same month and next 3 months) so the
-- index can be validated. Reads retention_base after pipeline.marts steps 42 (signals) and 43
-- (attrition, stricter threshold min_group_size_text on the average headcount).
--
-- Risk index (weights and reference levels: pipeline/indicators/retention.py, passed as variables):
--   component_i = clamp(signal_i / reference_i, 0, 1)
--     leave intent  = leave_intent_rate
--     trend         = −sentiment_slope                  (a falling trend raises risk)
--     participation = participation_drop                (relative drop vs own baseline)
--     workload      = negative_workload_share
--     negativity    = pct_negative
--   risk_index = 100 × Σ w_i·component_i / Σ w_i over the components that are defined.
CREATE OR REPLACE TABLE marts.retention_signals_monthly AS
WITH flagged AS (
    SELECT *,
        suppression_reason IS NULL AS published,
        attrition_suppression_reason IS NULL AS attrition_published,
        ratio(active_posters, headcount) AS participation_rate
    FROM retention_base
),
windowed AS (
    SELECT *,
        -- Baseline from published months only, so it never carries a hidden month's figure.
        avg(participation_rate) FILTER (WHERE published) OVER previous_3 AS participation_baseline,
        count(*) FILTER (WHERE published) OVER previous_3 AS baseline_months,
        sum(leavers) OVER next_3 AS leavers_next_3m,
        sum(avg_headcount) OVER next_3 / 3.0 AS avg_headcount_next_3m,
        count(*) FILTER (WHERE attrition_published) OVER next_3 = 3 AS next_3m_published
    FROM flagged
    WINDOW
        previous_3 AS (PARTITION BY org_level, org_unit ORDER BY month_start
                       RANGE BETWEEN INTERVAL 3 MONTH PRECEDING AND INTERVAL 1 MONTH PRECEDING),
        next_3 AS (PARTITION BY org_level, org_unit ORDER BY month_start
                   RANGE BETWEEN INTERVAL 1 MONTH FOLLOWING AND INTERVAL 3 MONTH FOLLOWING)
),
signals AS (
    SELECT *,
        ratio(leave_intent_messages, messages) AS leave_intent_rate,
        ratio(negative_workload_messages, messages) AS negative_workload_share,
        ratio(n_negative, messages) AS pct_negative,
        CASE WHEN baseline_months >= 2 AND participation_baseline > 0
            THEN (participation_rate - participation_baseline) / participation_baseline END AS participation_change
    FROM windowed
),
components AS (
    SELECT *,
        least(leave_intent_rate / getvariable('risk_leave_intent_ref'), 1) AS c_leave_intent,
        least(greatest(-sentiment_slope / getvariable('risk_trend_ref'), 0), 1) AS c_trend,
        least(greatest(-participation_change / getvariable('risk_participation_ref'), 0), 1) AS c_participation,
        least(negative_workload_share / getvariable('risk_workload_ref'), 1) AS c_workload,
        least(pct_negative / getvariable('risk_negativity_ref'), 1) AS c_negativity
    FROM signals
),
figures AS (
    SELECT
        org_level, org_unit, parent_unit, strftime(month_start, '%Y-%m') AS month, month_start,
        published, attrition_published, next_3m_published, month_complete, next_3m_complete,
        suppression_reason, attrition_suppression_reason,
        headcount,
        active_posters,
        messages,
        participation_rate,
        prop_se(active_posters, headcount) AS participation_rate_se,
        participation_baseline,
        participation_change,
        leave_intent_rate,
        prop_se(leave_intent_messages, messages) AS leave_intent_rate_se,
        sentiment_slope,
        sentiment_slope_se,
        negative_workload_share,
        prop_se(negative_workload_messages, messages) AS negative_workload_share_se,
        pct_negative,
        prop_se(n_negative, messages) AS pct_negative_se,
        ratio(sentiment_sum, messages) AS mean_sentiment,
        mean_se(sentiment_sum, sentiment_sumsq, messages) AS mean_sentiment_se,
        100.0 * (
            coalesce(getvariable('risk_w_leave_intent') * c_leave_intent, 0)
            + coalesce(getvariable('risk_w_trend') * c_trend, 0)
            + coalesce(getvariable('risk_w_participation') * c_participation, 0)
            + coalesce(getvariable('risk_w_workload') * c_workload, 0)
            + coalesce(getvariable('risk_w_negativity') * c_negativity, 0)
        ) / nullif(
            CASE WHEN c_leave_intent IS NULL THEN 0 ELSE getvariable('risk_w_leave_intent') END
            + CASE WHEN c_trend IS NULL THEN 0 ELSE getvariable('risk_w_trend') END
            + CASE WHEN c_participation IS NULL THEN 0 ELSE getvariable('risk_w_participation') END
            + CASE WHEN c_workload IS NULL THEN 0 ELSE getvariable('risk_w_workload') END
            + CASE WHEN c_negativity IS NULL THEN 0 ELSE getvariable('risk_w_negativity') END, 0) AS risk_index,
        avg_headcount,
        ratio(leavers, avg_headcount) AS attrition_rate,
        prop_se(leavers, avg_headcount) AS attrition_rate_se,
        ratio(leavers_next_3m, avg_headcount_next_3m) AS attrition_rate_next_3m,
        prop_se(leavers_next_3m, avg_headcount_next_3m) AS attrition_rate_next_3m_se
    FROM components
)
SELECT
    org_level, org_unit, parent_unit, month, month_start,
    CASE WHEN published THEN COLUMNS(c -> c IN ('headcount', 'active_posters', 'messages')) END,
    CASE WHEN published THEN round(COLUMNS(c -> c IN (
        'participation_rate', 'participation_rate_se', 'participation_baseline', 'participation_change',
        'leave_intent_rate', 'leave_intent_rate_se', 'sentiment_slope', 'sentiment_slope_se',
        'negative_workload_share', 'negative_workload_share_se', 'pct_negative', 'pct_negative_se',
        'mean_sentiment', 'mean_sentiment_se', 'risk_index')), 4)
    END,
    CASE WHEN attrition_published THEN round(avg_headcount, 1) END AS avg_headcount,
    CASE WHEN attrition_published AND month_complete THEN round(COLUMNS(c -> c IN (
        'attrition_rate', 'attrition_rate_se')), 4)
    END,
    CASE WHEN attrition_published AND next_3m_published AND next_3m_complete THEN round(COLUMNS(c -> c IN (
        'attrition_rate_next_3m', 'attrition_rate_next_3m_se')), 4)
    END,
    NOT published AS suppressed,
    suppression_reason,
    NOT attrition_published AS attrition_suppressed,
    attrition_suppression_reason
FROM figures
ORDER BY org_level DESC, org_unit, month_start;
