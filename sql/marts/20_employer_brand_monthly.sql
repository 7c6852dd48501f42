-- marts.employer_brand_monthly: public employer reviews per source, company, month and employment
-- status (current employees vs alumni). A review's sentiment is the mean over its text fields.
-- Groups with fewer than getvariable('min_group_size') reviews are suppressed (keys kept).
CREATE OR REPLACE TABLE marts.employer_brand_monthly AS
WITH review_sentiment AS (
    SELECT source_key AS review_key,
           avg(sentiment_score) AS sentiment_score,
           avg(sentiment_score) FILTER (WHERE field = 'pros') AS pros_sentiment,
           avg(sentiment_score) FILTER (WHERE field = 'cons') AS cons_sentiment
    FROM nlp.documents
    WHERE doc_type = 'review'
    GROUP BY source_key
),
facts AS (
    SELECT r.source, r.company, date_trunc('month', r.created_at AT TIME ZONE 'UTC')::DATE AS month_start,
           r.employment_status, r.rating, s.sentiment_score
    FROM staging.reviews r
    JOIN review_sentiment s USING (review_key)
),
grouped AS (
    SELECT source, company, month_start, employment_status,
           count(*) AS reviews,
           avg(rating) AS mean_rating,
           stddev_samp(rating) / sqrt(count(rating)) AS mean_rating_se,
           avg(sentiment_score) AS mean_sentiment,
           stddev_samp(sentiment_score) / sqrt(count(*)) AS mean_sentiment_se,
           avg((sentiment_score > 0.2)::INT) AS pct_positive,
           avg((sentiment_score < -0.2)::INT) AS pct_negative
    FROM facts
    GROUP BY ALL
)
SELECT
    source, company, month_start,
    coalesce(strftime(month_start, '%Y-%m'), 'undated') AS month,
    employment_status,
    reviews,
    CASE WHEN reviews >= getvariable('min_group_size') THEN round(mean_rating, 3) END AS mean_rating,
    CASE WHEN reviews >= getvariable('min_group_size') THEN round(mean_rating_se, 3) END AS mean_rating_se,
    CASE WHEN reviews >= getvariable('min_group_size') THEN round(mean_sentiment, 4) END AS mean_sentiment,
    CASE WHEN reviews >= getvariable('min_group_size') THEN round(mean_sentiment_se, 4) END AS mean_sentiment_se,
    CASE WHEN reviews >= getvariable('min_group_size') THEN round((pct_positive - pct_negative) * 100, 1) END AS net_sentiment,
    reviews < getvariable('min_group_size') AS suppressed,
    CASE WHEN reviews < getvariable('min_group_size') THEN 'reviews_below_k' END AS suppression_reason
FROM grouped
ORDER BY source, company, month_start NULLS LAST, employment_status;
