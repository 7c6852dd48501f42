-- staging.reviews: one row per review (latest version), typed.
CREATE OR REPLACE VIEW staging.reviews AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY review_key ORDER BY loaded_at DESC, source_file DESC, content_hash) AS rn
    FROM raw.reviews
)
SELECT
    review_key,
    source,
    company,
    created_at,
    rating,
    title,
    pros,
    cons,
    text,
    coalesce(employment_status, 'unknown') AS employment_status,
    job_title,
    location
FROM ranked
WHERE rn = 1;
