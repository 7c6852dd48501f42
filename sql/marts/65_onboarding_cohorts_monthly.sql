-- marts.onboarding_cohorts_monthly: sentiment and participation of people in their first 90 days vs
-- tenured colleagues, per org unit × month. Reads onboarding_base after pipeline.marts step 42
-- (joint complementary suppression with retention_base: along the org hierarchy and the cohort split).
-- Both cohorts have a row for every unit-month.
CREATE OR REPLACE TABLE marts.onboarding_cohorts_monthly AS
WITH figures AS (
    SELECT
        org_level, org_unit, parent_unit, strftime(month_start, '%Y-%m') AS month, month_start, cohort,
        suppression_reason IS NULL AS published, suppression_reason,
        headcount,
        active_posters,
        messages,
        ratio(active_posters, headcount) AS participation_rate,
        prop_se(active_posters, headcount) AS participation_rate_se,
        ratio(sentiment_sum, messages) AS mean_sentiment,
        mean_se(sentiment_sum, sentiment_sumsq, messages) AS mean_sentiment_se,
        net_score(n_positive, n_negative, messages) AS net_sentiment,
        net_se(n_positive, n_negative, messages) AS net_sentiment_se
    FROM onboarding_base
)
SELECT
    org_level, org_unit, parent_unit, month, month_start, cohort,
    CASE WHEN published THEN COLUMNS(c -> c IN ('headcount', 'active_posters', 'messages')) END,
    CASE WHEN published THEN round(COLUMNS(c -> c IN (
        'participation_rate', 'participation_rate_se', 'mean_sentiment', 'mean_sentiment_se',
        'net_sentiment', 'net_sentiment_se')), 4)
    END,
    NOT published AS suppressed,
    suppression_reason
FROM figures
ORDER BY org_level DESC, org_unit, month_start, cohort;
