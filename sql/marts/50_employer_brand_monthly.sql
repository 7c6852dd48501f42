-- marts.employer_brand_monthly: public employer reviews per source × company × month × employment
-- status (current employees vs former = alumni voice) × review language. A review's class
-- probabilities are the mean over its scored fields (title, pros, cons, text); its label is their
-- argmax and its score p_positive − p_negative. Its language is the language of its longest field.
-- Groups with fewer than min_group_size reviews keep their keys and review count, other figures NULL;
-- top themes need min_group_size_text reviews.
CREATE OR REPLACE TABLE marts.employer_brand_monthly AS
WITH fields AS (
    SELECT d.source_key AS review_key, d.field, d.doc_id, d.text_hash, d.language,
           d.p_negative, d.p_neutral, d.p_positive, length(t.text) AS chars
    FROM nlp.documents d
    JOIN staging.texts t ON t.doc_id = d.doc_id
    WHERE d.doc_type = 'review'
),
review_sentiment AS (
    SELECT review_key,
           avg(p_negative) AS p_negative, avg(p_neutral) AS p_neutral, avg(p_positive) AS p_positive,
           arg_max(language, chars) AS language
    FROM fields
    GROUP BY review_key
),
facts AS (
    SELECT
        r.review_key, r.source, r.company,
        date_trunc('month', r.created_at AT TIME ZONE 'UTC')::DATE AS month_start,
        r.employment_status, s.language, r.rating,
        least(greatest(round(r.rating), 1), 5)::INTEGER AS stars,
        s.p_positive - s.p_negative AS sentiment_score,
        CASE
            WHEN s.p_negative >= s.p_neutral AND s.p_negative >= s.p_positive THEN 'negative'
            WHEN s.p_neutral >= s.p_positive THEN 'neutral'
            ELSE 'positive'
        END AS sentiment_label
    FROM staging.reviews r
    JOIN review_sentiment s USING (review_key)
),
theme_counts AS (
    SELECT f.source, f.company, f.month_start, f.employment_status, f.language, x.field, x.theme,
           count(DISTINCT f.review_key) AS reviews
    FROM facts f
    JOIN (
        SELECT fl.review_key, fl.field, unnest(dt.themes) AS theme
        FROM fields fl
        JOIN nlp.document_themes dt ON dt.doc_id = fl.doc_id AND dt.text_hash = fl.text_hash
        WHERE fl.field IN ('pros', 'cons')
    ) x USING (review_key)
    GROUP BY ALL
),
top_themes AS (
    SELECT source, company, month_start, employment_status, language,
           string_agg(theme, ';' ORDER BY reviews DESC, theme) FILTER (WHERE field = 'pros' AND rank_in_field <= 3) AS top_themes_pros,
           string_agg(theme, ';' ORDER BY reviews DESC, theme) FILTER (WHERE field = 'cons' AND rank_in_field <= 3) AS top_themes_cons
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY source, company, month_start, employment_status, language, field ORDER BY reviews DESC, theme
        ) AS rank_in_field
        FROM theme_counts
    )
    GROUP BY ALL
),
grouped AS (
    SELECT source, company, month_start, employment_status, language,
           count(*) AS reviews,
           count(rating) AS rated,
           avg(rating) AS mean_rating,
           stddev_samp(rating) / sqrt(count(rating)) AS mean_rating_se,
           count(*) FILTER (WHERE stars = 1) AS ratings_1,
           count(*) FILTER (WHERE stars = 2) AS ratings_2,
           count(*) FILTER (WHERE stars = 3) AS ratings_3,
           count(*) FILTER (WHERE stars = 4) AS ratings_4,
           count(*) FILTER (WHERE stars = 5) AS ratings_5,
           count(*) FILTER (WHERE sentiment_label = 'positive') AS n_positive,
           count(*) FILTER (WHERE sentiment_label = 'negative') AS n_negative,
           sum(sentiment_score) AS sentiment_sum,
           sum(sentiment_score * sentiment_score) AS sentiment_sumsq
    FROM facts
    GROUP BY ALL
),
figures AS (
    SELECT
        g.source, g.company, g.month_start, coalesce(strftime(g.month_start, '%Y-%m'), 'undated') AS month,
        g.employment_status, g.language, g.reviews,
        g.reviews >= getvariable('min_group_size') AS published,
        g.reviews >= getvariable('min_group_size_text') AS themes_published,
        g.mean_rating,
        g.mean_rating_se,
        g.ratings_1, g.ratings_2, g.ratings_3, g.ratings_4, g.ratings_5,
        ratio(g.sentiment_sum, g.reviews) AS mean_sentiment,
        mean_se(g.sentiment_sum, g.sentiment_sumsq, g.reviews) AS mean_sentiment_se,
        ratio(g.n_positive, g.reviews) AS pct_positive,
        prop_se(g.n_positive, g.reviews) AS pct_positive_se,
        ratio(g.n_negative, g.reviews) AS pct_negative,
        prop_se(g.n_negative, g.reviews) AS pct_negative_se,
        net_score(g.n_positive, g.n_negative, g.reviews) AS net_sentiment,
        net_se(g.n_positive, g.n_negative, g.reviews) AS net_sentiment_se,
        t.top_themes_pros,
        t.top_themes_cons
    FROM grouped g
    LEFT JOIN top_themes t
      ON t.source = g.source AND t.company = g.company AND t.month_start IS NOT DISTINCT FROM g.month_start
     AND t.employment_status = g.employment_status AND t.language = g.language
)
SELECT
    source, company, month_start, month, employment_status, language, reviews,
    CASE WHEN published THEN COLUMNS(c -> c IN ('ratings_1', 'ratings_2', 'ratings_3', 'ratings_4', 'ratings_5')) END,
    CASE WHEN published THEN round(COLUMNS(c -> c IN (
        'mean_rating', 'mean_rating_se', 'mean_sentiment', 'mean_sentiment_se', 'pct_positive', 'pct_positive_se',
        'pct_negative', 'pct_negative_se', 'net_sentiment', 'net_sentiment_se')), 4)
    END,
    CASE WHEN themes_published THEN COLUMNS(c -> c IN ('top_themes_pros', 'top_themes_cons')) END,
    NOT published AS suppressed,
    CASE WHEN NOT published THEN 'reviews_below_k' WHEN NOT themes_published THEN 'themes_below_k_text' END
        AS suppression_reason
FROM figures
ORDER BY source, company, month_start NULLS LAST, employment_status, language;
