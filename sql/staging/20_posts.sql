-- staging.posts: one row per post (latest version), author resolved to the roster's employee_key
-- (directly for CSV/JSONL, via the keyed e-mail hash for Slack) and placed in the author's team.
CREATE OR REPLACE VIEW staging.posts AS
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY post_key ORDER BY loaded_at DESC, source_file DESC, content_hash) AS rn
    FROM raw.posts
),
posts AS (SELECT * EXCLUDE (rn) FROM latest WHERE rn = 1)
SELECT
    p.post_key,
    coalesce(r_id.employee_key, r_mail.employee_key, p.author_key) AS author_key,
    (r_id.employee_key IS NOT NULL OR r_mail.employee_key IS NOT NULL) AS author_in_roster,
    coalesce(r_id.department, r_mail.department) AS department,
    coalesce(r_id.team, r_mail.team) AS team,
    p.source_system,
    p.channel,
    p.created_at,
    p.text,
    p.parent_key,
    p.parent_key IS NOT NULL AS is_reply,
    p.reactions
FROM posts p
LEFT JOIN staging.roster r_id ON r_id.employee_key = p.author_key
LEFT JOIN staging.roster r_mail ON r_mail.email_key = p.author_key;
