-- marts.engagement_weekly: engagement, sentiment and knowledge sharing per org unit (team, department,
-- company) × ISO week. Reads engagement_base after pipeline.marts steps 22 and 42 (complementary
-- suppression along the org hierarchy and against the monthly marts).
-- Suppressed rows keep their keys; every figure is NULL. Rolling 4-week figures are published only
-- when all four weeks of the window are published, so a hidden week can never be recovered by
-- differencing two consecutive windows.
CREATE OR REPLACE TABLE marts.engagement_weekly AS
WITH flagged AS (
    SELECT *,
        suppression_reason IS NULL AS published,
        count(*) FILTER (WHERE suppression_reason IS NULL) OVER (
            PARTITION BY org_level, org_unit ORDER BY week_start
            RANGE BETWEEN INTERVAL 21 DAY PRECEDING AND CURRENT ROW
        ) = 4 AS window_published
    FROM engagement_base
),
figures AS (
    SELECT
        org_level, org_unit, parent_unit, strftime(week_start, '%G-W%V') AS iso_week, week_start,
        published, window_published, suppression_reason,
        headcount,
        active_posters,
        ratio(active_posters, headcount) AS participation_rate,
        prop_se(active_posters, headcount) AS participation_rate_se,
        messages,
        posts,
        replies,
        ratio(posts, active_posters) AS posts_per_active_poster,
        mean_se(posts, posts_sumsq_per_author, active_posters) AS posts_per_active_poster_se,
        ratio(replies, active_posters) AS replies_per_active_poster,
        mean_se(replies, replies_sumsq_per_author, active_posters) AS replies_per_active_poster_se,
        reactions,
        ratio(sentiment_sum, messages) AS mean_sentiment,
        mean_se(sentiment_sum, sentiment_sumsq, messages) AS mean_sentiment_se,
        ratio(n_positive, messages) AS pct_positive,
        prop_se(n_positive, messages) AS pct_positive_se,
        ratio(n_negative, messages) AS pct_negative,
        prop_se(n_negative, messages) AS pct_negative_se,
        net_score(n_positive, n_negative, messages) AS net_sentiment,
        net_se(n_positive, n_negative, messages) AS net_sentiment_se,
        active_posters_4w,
        ratio(active_posters_4w, headcount_4w) AS participation_rate_4w,
        prop_se(active_posters_4w, headcount_4w) AS participation_rate_4w_se,
        messages_4w,
        ratio(sentiment_sum_4w, messages_4w) AS mean_sentiment_4w,
        mean_se(sentiment_sum_4w, sentiment_sumsq_4w, messages_4w) AS mean_sentiment_4w_se,
        ratio(n_positive_4w, messages_4w) AS pct_positive_4w,
        prop_se(n_positive_4w, messages_4w) AS pct_positive_4w_se,
        ratio(n_negative_4w, messages_4w) AS pct_negative_4w,
        prop_se(n_negative_4w, messages_4w) AS pct_negative_4w_se,
        net_score(n_positive_4w, n_negative_4w, messages_4w) AS net_sentiment_4w,
        net_se(n_positive_4w, n_negative_4w, messages_4w) AS net_sentiment_4w_se,
        threads,
        ratio(threads_cross_team, threads) AS cross_team_reply_share,
        prop_se(threads_cross_team, threads) AS cross_team_reply_share_se,
        ratio(replies_received, threads) AS replies_per_thread,
        mean_se(replies_received, replies_received_sumsq, threads) AS replies_per_thread_se,
        ratio(threads_answered_24h, threads) AS answered_within_24h_share,
        prop_se(threads_answered_24h, threads) AS answered_within_24h_share_se,
        median_hours_to_first_reply,
        CASE WHEN threads > 0 THEN 100.0 * (
            0.5 * threads_cross_team / threads
            + 0.25 * least(replies_received / threads, 2) / 2
            + 0.25 * threads_answered_24h / threads
        ) END AS knowledge_sharing_index
    FROM flagged
)
SELECT
    org_level, org_unit, parent_unit, iso_week, week_start,
    CASE WHEN published THEN COLUMNS(c -> c IN (
        'headcount', 'active_posters', 'messages', 'posts', 'replies', 'reactions', 'threads'))
    END,
    CASE WHEN published THEN round(COLUMNS(c -> c IN (
        'participation_rate', 'participation_rate_se', 'posts_per_active_poster', 'posts_per_active_poster_se',
        'replies_per_active_poster', 'replies_per_active_poster_se', 'mean_sentiment', 'mean_sentiment_se',
        'pct_positive', 'pct_positive_se', 'pct_negative', 'pct_negative_se', 'net_sentiment', 'net_sentiment_se',
        'cross_team_reply_share', 'cross_team_reply_share_se', 'replies_per_thread', 'replies_per_thread_se',
        'answered_within_24h_share', 'answered_within_24h_share_se', 'median_hours_to_first_reply',
        'knowledge_sharing_index')), 4)
    END,
    CASE WHEN window_published THEN COLUMNS(c -> c IN ('active_posters_4w', 'messages_4w')) END,
    CASE WHEN window_published THEN round(COLUMNS(c -> c IN (
        'participation_rate_4w', 'participation_rate_4w_se', 'mean_sentiment_4w', 'mean_sentiment_4w_se',
        'pct_positive_4w', 'pct_positive_4w_se', 'pct_negative_4w', 'pct_negative_4w_se',
        'net_sentiment_4w', 'net_sentiment_4w_se')), 4)
    END,
    NOT published AS suppressed,
    suppression_reason
FROM figures
ORDER BY org_level DESC, org_unit, week_start;
