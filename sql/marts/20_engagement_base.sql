-- Unsuppressed engagement figures per org unit × ISO week (TEMP work table). 44_engagement_weekly.sql
-- publishes them after primary and complementary suppression (pipeline/indicators/suppression.py).
CREATE OR REPLACE TEMP TABLE engagement_base AS
WITH headcount AS (
    SELECT u.org_level, u.org_unit, u.parent_unit, e.week_start, count(DISTINCT e.employee_key) AS headcount
    FROM mart_employment_weekly e
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
headcount_4w AS (
    SELECT u.org_level, u.org_unit, w.week_start, count(DISTINCT e.employee_key) AS headcount_4w
    FROM mart_weeks w
    JOIN mart_employment_weekly e ON e.week_start BETWEEN w.week_start - 21 AND w.week_start
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
author_week AS (
    SELECT department, team, week_start, author_key,
           count(*) FILTER (WHERE NOT is_reply) AS n_posts,
           count(*) FILTER (WHERE is_reply) AS n_replies
    FROM mart_messages
    GROUP BY ALL
),
per_author AS (
    SELECT u.org_level, u.org_unit, a.week_start,
           sum(a.n_posts * a.n_posts) AS posts_sumsq_per_author,
           sum(a.n_replies * a.n_replies) AS replies_sumsq_per_author
    FROM author_week a
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
activity AS (
    SELECT
        u.org_level, u.org_unit, m.week_start,
        count(DISTINCT m.author_key) AS active_posters,
        count(*) AS messages,
        count(*) FILTER (WHERE NOT m.is_reply) AS posts,
        count(*) FILTER (WHERE m.is_reply) AS replies,
        sum(m.reactions) AS reactions,
        count(*) FILTER (WHERE m.sentiment_label = 'positive') AS n_positive,
        count(*) FILTER (WHERE m.sentiment_label = 'negative') AS n_negative,
        sum(m.sentiment_score) AS sentiment_sum,
        sum(m.sentiment_score * m.sentiment_score) AS sentiment_sumsq
    FROM mart_messages m
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
activity_4w AS (
    SELECT
        u.org_level, u.org_unit, w.week_start,
        count(DISTINCT m.author_key) AS active_posters_4w,
        count(*) AS messages_4w,
        count(*) FILTER (WHERE m.sentiment_label = 'positive') AS n_positive_4w,
        count(*) FILTER (WHERE m.sentiment_label = 'negative') AS n_negative_4w,
        sum(m.sentiment_score) AS sentiment_sum_4w,
        sum(m.sentiment_score * m.sentiment_score) AS sentiment_sumsq_4w
    FROM mart_weeks w
    JOIN mart_messages m ON m.week_start BETWEEN w.week_start - 21 AND w.week_start
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
-- Threads started in the week (a top-level post) and the replies they received from other people.
thread_replies AS (
    SELECT
        root.post_key, root.department, root.team, root.week_start,
        count(rep.post_key) AS replies_received,
        coalesce(bool_or(rep.team <> root.team), FALSE) AS cross_team,
        epoch(min(rep.created_at) - root.created_at) / 3600.0 AS hours_to_first_reply
    FROM mart_messages root
    LEFT JOIN mart_messages rep ON rep.parent_key = root.post_key AND rep.author_key <> root.author_key
    WHERE NOT root.is_reply
    GROUP BY root.post_key, root.department, root.team, root.week_start, root.created_at
),
threads AS (
    SELECT
        u.org_level, u.org_unit, t.week_start,
        count(*) AS threads,
        count(*) FILTER (WHERE t.replies_received > 0) AS threads_answered,
        count(*) FILTER (WHERE t.cross_team) AS threads_cross_team,
        count(*) FILTER (WHERE t.hours_to_first_reply <= 24) AS threads_answered_24h,
        sum(t.replies_received) AS replies_received,
        sum(t.replies_received * t.replies_received) AS replies_received_sumsq,
        median(t.hours_to_first_reply) AS median_hours_to_first_reply
    FROM thread_replies t
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
)
SELECT
    h.org_level, h.org_unit, h.parent_unit, h.week_start,
    h.headcount,
    coalesce(a.active_posters, 0) AS active_posters,
    coalesce(a.messages, 0) AS messages,
    coalesce(a.posts, 0) AS posts,
    coalesce(a.replies, 0) AS replies,
    coalesce(a.reactions, 0) AS reactions,
    coalesce(a.n_positive, 0) AS n_positive,
    coalesce(a.n_negative, 0) AS n_negative,
    coalesce(a.sentiment_sum, 0) AS sentiment_sum,
    coalesce(a.sentiment_sumsq, 0) AS sentiment_sumsq,
    coalesce(t.threads, 0) AS threads,
    coalesce(t.threads_answered, 0) AS threads_answered,
    coalesce(t.threads_cross_team, 0) AS threads_cross_team,
    coalesce(t.threads_answered_24h, 0) AS threads_answered_24h,
    coalesce(t.replies_received, 0) AS replies_received,
    coalesce(t.replies_received_sumsq, 0) AS replies_received_sumsq,
    coalesce(pa.posts_sumsq_per_author, 0) AS posts_sumsq_per_author,
    coalesce(pa.replies_sumsq_per_author, 0) AS replies_sumsq_per_author,
    t.median_hours_to_first_reply,
    coalesce(h4.headcount_4w, h.headcount) AS headcount_4w,
    coalesce(a4.active_posters_4w, 0) AS active_posters_4w,
    coalesce(a4.messages_4w, 0) AS messages_4w,
    coalesce(a4.n_positive_4w, 0) AS n_positive_4w,
    coalesce(a4.n_negative_4w, 0) AS n_negative_4w,
    coalesce(a4.sentiment_sum_4w, 0) AS sentiment_sum_4w,
    coalesce(a4.sentiment_sumsq_4w, 0) AS sentiment_sumsq_4w,
    CASE
        WHEN h.headcount < getvariable('min_group_size') THEN 'headcount_below_k'
        WHEN coalesce(a.active_posters, 0) < getvariable('min_group_size') THEN 'active_posters_below_k'
    END AS suppression_reason
FROM headcount h
LEFT JOIN activity a USING (org_level, org_unit, week_start)
LEFT JOIN activity_4w a4 USING (org_level, org_unit, week_start)
LEFT JOIN headcount_4w h4 USING (org_level, org_unit, week_start)
LEFT JOIN per_author pa USING (org_level, org_unit, week_start)
LEFT JOIN threads t USING (org_level, org_unit, week_start);
