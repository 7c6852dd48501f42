-- Unsuppressed retention signals and realised attrition per org unit × month (TEMP work table).
-- 45_retention_signals_monthly.sql publishes them after complementary suppression (steps 42, 43).
CREATE OR REPLACE TEMP TABLE retention_base AS
WITH data_end AS (
    SELECT max(week_start) + 6 AS last_day FROM mart_weeks
),
months AS (
    SELECT month_start, (month_start + INTERVAL 1 MONTH)::DATE - 1 AS month_end FROM mart_months
),
headcount AS (
    SELECT
        u.org_level, u.org_unit, u.parent_unit, m.month_start,
        count(DISTINCT r.employee_key) AS headcount,
        count(DISTINCT r.employee_key) FILTER (
            WHERE r.hire_date <= m.month_start AND (r.termination_date IS NULL OR r.termination_date >= m.month_start)
        ) AS headcount_first_day,
        count(DISTINCT r.employee_key) FILTER (
            WHERE r.hire_date <= m.month_end AND (r.termination_date IS NULL OR r.termination_date >= m.month_end)
        ) AS headcount_last_day,
        count(DISTINCT r.employee_key) FILTER (
            WHERE r.termination_date BETWEEN m.month_start AND m.month_end
        ) AS leavers
    FROM months m
    JOIN staging.roster r
      ON r.hire_date <= m.month_end AND (r.termination_date IS NULL OR r.termination_date >= m.month_start)
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
-- Messages with a negative sentence about workload or management (aspect-level).
negative_workload AS (
    SELECT DISTINCT doc_id FROM mart_theme_sentences
    WHERE theme IN ('workload', 'management') AND sentiment_label = 'negative'
),
activity AS (
    SELECT
        u.org_level, u.org_unit, m.month_start,
        count(DISTINCT m.author_key) AS active_posters,
        count(*) AS messages,
        count(*) FILTER (WHERE m.leave_intent) AS leave_intent_messages,
        count(*) FILTER (WHERE nw.doc_id IS NOT NULL) AS negative_workload_messages,
        count(*) FILTER (WHERE m.sentiment_label = 'negative') AS n_negative,
        sum(m.sentiment_score) AS sentiment_sum,
        sum(m.sentiment_score * m.sentiment_score) AS sentiment_sumsq
    FROM mart_messages m
    JOIN mart_unit_paths u USING (department, team)
    LEFT JOIN negative_workload nw USING (doc_id)
    GROUP BY ALL
),
-- Sentiment trend: least-squares slope of message sentiment on week number over the 8 ISO weeks
-- ending with the last week that starts in the month.
trend AS (
    SELECT
        u.org_level, u.org_unit, mo.month_start,
        regr_slope(m.sentiment_score, (m.week_start - mo.month_start) / 7.0) AS sentiment_slope,
        regr_count(m.sentiment_score, (m.week_start - mo.month_start) / 7.0) AS slope_n,
        regr_sxx(m.sentiment_score, (m.week_start - mo.month_start) / 7.0) AS slope_sxx,
        regr_syy(m.sentiment_score, (m.week_start - mo.month_start) / 7.0) AS slope_syy,
        regr_sxy(m.sentiment_score, (m.week_start - mo.month_start) / 7.0) AS slope_sxy
    FROM months mo
    JOIN mart_messages m
      ON m.week_start <= date_trunc('week', mo.month_end)::DATE
     AND m.week_start > date_trunc('week', mo.month_end)::DATE - 56
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
joined AS (
    SELECT
        h.*,
        (h.headcount_first_day + h.headcount_last_day) / 2.0 AS avg_headcount,
        coalesce(a.active_posters, 0) AS active_posters,
        coalesce(a.messages, 0) AS messages,
        coalesce(a.leave_intent_messages, 0) AS leave_intent_messages,
        coalesce(a.negative_workload_messages, 0) AS negative_workload_messages,
        coalesce(a.n_negative, 0) AS n_negative,
        coalesce(a.sentiment_sum, 0) AS sentiment_sum,
        coalesce(a.sentiment_sumsq, 0) AS sentiment_sumsq,
        -- Undefined (not NaN) when all messages fall in one week.
        CASE WHEN t.slope_n > 2 AND t.slope_sxx > 0 THEN t.sentiment_slope END AS sentiment_slope,
        CASE WHEN t.slope_n > 2 AND t.slope_sxx > 0
            THEN sqrt(greatest(t.slope_syy - t.slope_sxy * t.slope_sxy / t.slope_sxx, 0) / (t.slope_n - 2) / t.slope_sxx)
        END AS sentiment_slope_se,
        h.month_start + INTERVAL 1 MONTH - INTERVAL 1 DAY <= d.last_day AS month_complete,
        h.month_start + INTERVAL 4 MONTH - INTERVAL 1 DAY <= d.last_day AS next_3m_complete
    FROM headcount h
    CROSS JOIN data_end d
    LEFT JOIN activity a USING (org_level, org_unit, month_start)
    LEFT JOIN trend t USING (org_level, org_unit, month_start)
)
SELECT
    *,
    CASE
        WHEN headcount < getvariable('min_group_size') THEN 'headcount_below_k'
        WHEN active_posters < getvariable('min_group_size') THEN 'active_posters_below_k'
    END AS suppression_reason,
    CASE WHEN avg_headcount < getvariable('min_group_size_text') THEN 'headcount_below_k_text' END
        AS attrition_suppression_reason
FROM joined;
