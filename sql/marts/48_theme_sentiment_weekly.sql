-- marts.theme_sentiment_weekly: how often each HR theme comes up and how people feel about it, per
-- org unit × theme × ISO week. Sentiment is aspect-level: the sentence-level sentiment of the
-- sentences that carry the theme (mart_theme_sentences), not the whole message's.
-- Reads theme_base after pipeline.marts step 47 (complementary suppression within theme × week).
-- Threshold: min_group_size_text distinct authors. change_vs_prev_4w is published only when the row
-- and all four previous weeks of the same unit and theme are published.
CREATE OR REPLACE TABLE marts.theme_sentiment_weekly AS
WITH flagged AS (
    SELECT *,
        suppression_reason IS NULL AS published,
        count(*) FILTER (WHERE suppression_reason IS NULL) OVER (
            PARTITION BY org_level, org_unit, theme ORDER BY week_start
            RANGE BETWEEN INTERVAL 28 DAY PRECEDING AND INTERVAL 7 DAY PRECEDING
        ) = 4 AS previous_published
    FROM theme_base
),
figures AS (
    SELECT
        org_level, org_unit, parent_unit, theme, strftime(week_start, '%G-W%V') AS iso_week, week_start,
        published, previous_published, suppression_reason,
        mentions,
        sentences,
        ratio(mentions, messages) AS share_of_messages,
        prop_se(mentions, messages) AS share_of_messages_se,
        ratio(sentiment_sum, sentences) AS mean_sentiment,
        mean_se(sentiment_sum, sentiment_sumsq, sentences) AS mean_sentiment_se,
        ratio(n_negative, sentences) AS pct_negative,
        prop_se(n_negative, sentences) AS pct_negative_se,
        net_score(n_positive, n_negative, sentences) AS net_sentiment,
        net_se(n_positive, n_negative, sentences) AS net_sentiment_se,
        net_score(n_positive, n_negative, sentences)
            - net_score(n_positive_prev_4w, n_negative_prev_4w, sentences_prev_4w) AS change_vs_prev_4w,
        sqrt(net_se(n_positive, n_negative, sentences) ** 2
            + net_se(n_positive_prev_4w, n_negative_prev_4w, sentences_prev_4w) ** 2) AS change_vs_prev_4w_se
    FROM flagged
)
SELECT
    org_level, org_unit, parent_unit, theme, iso_week, week_start,
    CASE WHEN published THEN COLUMNS(c -> c IN ('mentions', 'sentences')) END,
    CASE WHEN published THEN round(COLUMNS(c -> c IN (
        'share_of_messages', 'share_of_messages_se', 'mean_sentiment', 'mean_sentiment_se',
        'pct_negative', 'pct_negative_se', 'net_sentiment', 'net_sentiment_se')), 4)
    END,
    CASE WHEN published AND previous_published THEN round(COLUMNS(c -> c IN (
        'change_vs_prev_4w', 'change_vs_prev_4w_se')), 4)
    END,
    NOT published AS suppressed,
    suppression_reason
FROM figures
ORDER BY org_level DESC, org_unit, theme, week_start;
