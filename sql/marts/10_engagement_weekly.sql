-- marts.engagement_weekly: engagement per org unit (team, department, company) and ISO week.
-- Privacy: a unit-week with fewer than getvariable('min_group_size') employees, or fewer active
-- posters, keeps its keys but has every figure NULL, with `suppressed` and `suppression_reason` set.
CREATE OR REPLACE TABLE marts.engagement_weekly AS
WITH post_facts AS (
    SELECT
        p.author_key, p.department, p.team,
        date_trunc('week', p.created_at AT TIME ZONE 'UTC')::DATE AS week_start,
        p.is_reply, p.reactions,
        d.sentiment_score, d.sentiment_label
    FROM staging.posts p
    JOIN nlp.documents d ON d.source_key = p.post_key AND d.field = 'text'
    WHERE p.author_in_roster
),
spine AS (
    SELECT unnest(generate_series(min(week_start), max(week_start), INTERVAL 7 DAY))::DATE AS week_start
    FROM post_facts
),
employment AS (
    SELECT s.week_start, r.employee_key, r.department, r.team
    FROM spine s
    JOIN staging.roster r
      ON r.hire_date <= s.week_start + 6
     AND (r.termination_date IS NULL OR r.termination_date >= s.week_start)
),
headcount AS (
    SELECT
        CASE WHEN grouping(team) = 0 THEN 'team' WHEN grouping(department) = 0 THEN 'department' ELSE 'company' END AS org_level,
        coalesce(team, department, 'company') AS org_unit,
        CASE WHEN grouping(team) = 0 THEN department WHEN grouping(department) = 0 THEN 'company' END AS parent_unit,
        week_start,
        count(DISTINCT employee_key) AS headcount
    FROM employment
    GROUP BY GROUPING SETS ((department, team, week_start), (department, week_start), (week_start))
),
activity AS (
    SELECT
        CASE WHEN grouping(team) = 0 THEN 'team' WHEN grouping(department) = 0 THEN 'department' ELSE 'company' END AS org_level,
        coalesce(team, department, 'company') AS org_unit,
        week_start,
        count(DISTINCT author_key) AS active_posters,
        count(*) AS posts,
        count(*) FILTER (WHERE is_reply) AS replies,
        sum(reactions) AS reactions,
        avg(sentiment_score) AS mean_sentiment,
        stddev_samp(sentiment_score) / sqrt(count(*)) AS mean_sentiment_se,
        avg((sentiment_label = 'positive')::INT) AS pct_positive,
        avg((sentiment_label = 'negative')::INT) AS pct_negative
    FROM post_facts
    GROUP BY GROUPING SETS ((department, team, week_start), (department, week_start), (week_start))
),
joined AS (
    SELECT
        h.org_level, h.org_unit, h.parent_unit, h.week_start,
        strftime(h.week_start, '%G-W%V') AS iso_week,
        h.headcount,
        coalesce(a.active_posters, 0) AS active_posters,
        coalesce(a.posts, 0) AS posts,
        coalesce(a.replies, 0) AS replies,
        coalesce(a.reactions, 0) AS reactions,
        a.mean_sentiment, a.mean_sentiment_se, a.pct_positive, a.pct_negative
    FROM headcount h
    LEFT JOIN activity a USING (org_level, org_unit, week_start)
),
flagged AS (
    SELECT *,
        CASE
            WHEN headcount < getvariable('min_group_size') THEN 'headcount_below_k'
            WHEN active_posters < getvariable('min_group_size') THEN 'active_posters_below_k'
        END AS suppression_reason
    FROM joined
)
SELECT
    org_level, org_unit, parent_unit, iso_week, week_start,
    CASE WHEN suppression_reason = 'headcount_below_k' THEN NULL ELSE headcount END AS headcount,
    CASE WHEN suppression_reason IS NULL THEN active_posters END AS active_posters,
    CASE WHEN suppression_reason IS NULL THEN active_posters / headcount END AS participation_rate,
    CASE WHEN suppression_reason IS NULL THEN posts END AS posts,
    CASE WHEN suppression_reason IS NULL THEN replies END AS replies,
    CASE WHEN suppression_reason IS NULL THEN reactions END AS reactions,
    CASE WHEN suppression_reason IS NULL THEN round(mean_sentiment, 4) END AS mean_sentiment,
    CASE WHEN suppression_reason IS NULL THEN round(mean_sentiment_se, 4) END AS mean_sentiment_se,
    CASE WHEN suppression_reason IS NULL THEN round(pct_positive, 4) END AS pct_positive,
    CASE WHEN suppression_reason IS NULL THEN round(pct_negative, 4) END AS pct_negative,
    CASE WHEN suppression_reason IS NULL THEN round((pct_positive - pct_negative) * 100, 1) END AS net_sentiment,
    suppression_reason IS NOT NULL AS suppressed,
    suppression_reason
FROM flagged
ORDER BY org_level DESC, org_unit, week_start;
