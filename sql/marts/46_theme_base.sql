-- Unsuppressed theme figures per org unit × theme × ISO week (TEMP work table), over the full grid of
-- unit-weeks and the 14 fixed theme ids, so "no mention" and "hidden" look the same once suppressed.
-- leave_intent is not a theme here: it is reported monthly in retention_signals_monthly.
CREATE OR REPLACE TEMP TABLE mart_themes AS
SELECT * FROM (VALUES
    ('recruitment'), ('onboarding'), ('retention'), ('motivation'), ('learning'), ('knowledge_sharing'),
    ('communication'), ('management'), ('pay'), ('workload'), ('work_life_balance'), ('tools'),
    ('culture'), ('alumni')
) AS t(theme);

CREATE OR REPLACE TEMP TABLE theme_base AS
WITH per_week AS (
    SELECT
        u.org_level, u.org_unit, s.theme, s.week_start,
        count(DISTINCT s.doc_id) AS mentions,
        count(DISTINCT s.author_key) AS authors,
        count(*) AS sentences,
        count(*) FILTER (WHERE s.sentiment_label = 'positive') AS n_positive,
        count(*) FILTER (WHERE s.sentiment_label = 'negative') AS n_negative,
        sum(s.sentiment_score) AS sentiment_sum,
        sum(s.sentiment_score * s.sentiment_score) AS sentiment_sumsq
    FROM mart_theme_sentences s
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
),
-- The four weeks before each week, pooled: the baseline of change_vs_prev_4w.
previous_4w AS (
    SELECT
        u.org_level, u.org_unit, s.theme, w.week_start,
        count(*) AS sentences_prev_4w,
        count(*) FILTER (WHERE s.sentiment_label = 'positive') AS n_positive_prev_4w,
        count(*) FILTER (WHERE s.sentiment_label = 'negative') AS n_negative_prev_4w
    FROM mart_weeks w
    JOIN mart_theme_sentences s ON s.week_start BETWEEN w.week_start - 28 AND w.week_start - 7
    JOIN mart_unit_paths u USING (department, team)
    GROUP BY ALL
)
SELECT
    e.org_level, e.org_unit, e.parent_unit, t.theme, e.week_start,
    e.messages,
    coalesce(p.mentions, 0) AS mentions,
    coalesce(p.authors, 0) AS authors,
    coalesce(p.sentences, 0) AS sentences,
    coalesce(p.n_positive, 0) AS n_positive,
    coalesce(p.n_negative, 0) AS n_negative,
    coalesce(p.sentiment_sum, 0) AS sentiment_sum,
    coalesce(p.sentiment_sumsq, 0) AS sentiment_sumsq,
    coalesce(q.sentences_prev_4w, 0) AS sentences_prev_4w,
    coalesce(q.n_positive_prev_4w, 0) AS n_positive_prev_4w,
    coalesce(q.n_negative_prev_4w, 0) AS n_negative_prev_4w,
    -- A theme share's denominator is the unit-week's messages: hidden with the unit-week, it stays hidden.
    CASE WHEN e.suppression_reason IS NOT NULL THEN 'unit_week_suppressed'
         WHEN coalesce(p.authors, 0) < getvariable('min_group_size_text') THEN 'authors_below_k_text' END
        AS suppression_reason
FROM engagement_base e
CROSS JOIN mart_themes t
LEFT JOIN per_week p USING (org_level, org_unit, theme, week_start)
LEFT JOIN previous_4w q USING (org_level, org_unit, theme, week_start);
