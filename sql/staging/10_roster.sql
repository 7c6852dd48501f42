-- staging.roster: one row per employee (latest roster version), typed. No names, no e-mails.
CREATE OR REPLACE VIEW staging.roster AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY employee_key ORDER BY loaded_at DESC, source_file DESC, content_hash) AS rn
    FROM raw.roster
)
SELECT
    employee_key,
    email_key,
    department,
    team,
    hire_date,
    termination_date
FROM ranked
WHERE rn = 1;
