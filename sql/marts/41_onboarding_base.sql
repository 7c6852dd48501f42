-- Unsuppressed onboarding-cohort figures per org unit × month × cohort (TEMP work table).
-- A person's cohort for a month is 'first_90_days' when they were hired less than 90 days before the
-- month's first day (hires during the month included), else 'tenured'; their messages that month
-- count for that cohort.
CREATE OR REPLACE TEMP TABLE onboarding_base AS
WITH person_months AS (
    SELECT
        m.month_start, r.employee_key, r.department, r.team,
        CASE WHEN r.hire_date > m.month_start - 90 THEN 'first_90_days' ELSE 'tenured' END AS cohort
    FROM mart_months m
    JOIN staging.roster r
      ON r.hire_date < m.month_start + INTERVAL 1 MONTH
     AND (r.termination_date IS NULL OR r.termination_date >= m.month_start)
),
cohorts AS (SELECT * FROM (VALUES ('first_90_days'), ('tenured')) AS c(cohort)),
units AS (SELECT DISTINCT org_level, org_unit, parent_unit FROM mart_unit_paths),
headcount AS (
    SELECT u.org_level, u.org_unit, p.month_start, p.cohort, count(DISTINCT p.employee_key) AS headcount
    FROM person_months p
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
activity AS (
    SELECT
        u.org_level, u.org_unit, p.month_start, p.cohort,
        count(DISTINCT m.author_key) AS active_posters,
        count(*) AS messages,
        count(*) FILTER (WHERE m.sentiment_label = 'positive') AS n_positive,
        count(*) FILTER (WHERE m.sentiment_label = 'negative') AS n_negative,
        sum(m.sentiment_score) AS sentiment_sum,
        sum(m.sentiment_score * m.sentiment_score) AS sentiment_sumsq
    FROM mart_messages m
    JOIN person_months p ON p.employee_key = m.author_key AND p.month_start = m.month_start
    JOIN mart_unit_paths u ON u.department = p.department AND u.team = p.team
    GROUP BY ALL
)
SELECT
    un.org_level, un.org_unit, un.parent_unit, mo.month_start, c.cohort,
    coalesce(h.headcount, 0) AS headcount,
    coalesce(a.active_posters, 0) AS active_posters,
    coalesce(a.messages, 0) AS messages,
    coalesce(a.n_positive, 0) AS n_positive,
    coalesce(a.n_negative, 0) AS n_negative,
    coalesce(a.sentiment_sum, 0) AS sentiment_sum,
    coalesce(a.sentiment_sumsq, 0) AS sentiment_sumsq,
    CASE
        WHEN coalesce(h.headcount, 0) < getvariable('min_group_size') THEN 'headcount_below_k'
        WHEN coalesce(a.active_posters, 0) < getvariable('min_group_size') THEN 'active_posters_below_k'
    END AS suppression_reason
FROM units un
CROSS JOIN mart_months mo
CROSS JOIN cohorts c
LEFT JOIN headcount h ON h.org_level = un.org_level AND h.org_unit = un.org_unit
    AND h.month_start = mo.month_start AND h.cohort = c.cohort
LEFT JOIN activity a ON a.org_level = un.org_level AND a.org_unit = un.org_unit
    AND a.month_start = mo.month_start AND a.cohort = c.cohort;
