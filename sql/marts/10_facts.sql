-- Shared facts for every mart, as TEMP tables: they exist only inside the marts build (build_marts
-- drops them at the end), so no per-message or small-group figure is ever stored.

-- Standard errors used by every mart (95 % interval = value ± 1.96 × se). NULL when undefined.
-- Proportion k/n: binomial SE. Mean from sum s and sum of squares ss of n values: sample SD / sqrt(n).
-- Net sentiment (pos − neg)/n × 100 from one multinomial sample: Var = (p₊ + p₋ − (p₊ − p₋)²) / n.
CREATE OR REPLACE TEMP MACRO prop_se(k, n) AS
    CASE WHEN n > 0 THEN sqrt(greatest((k / n) * (1 - k / n), 0) / n) END;
CREATE OR REPLACE TEMP MACRO mean_se(s, ss, n) AS
    CASE WHEN n > 1 THEN sqrt(greatest((ss - s * s / n) / (n - 1), 0) / n) END;
CREATE OR REPLACE TEMP MACRO net_score(pos, neg, n) AS
    CASE WHEN n > 0 THEN 100.0 * (pos - neg) / n END;
CREATE OR REPLACE TEMP MACRO net_se(pos, neg, n) AS
    CASE WHEN n > 0 THEN 100.0 * sqrt(greatest((pos + neg) / n - ((pos - neg) / n) ** 2, 0) / n) END;
CREATE OR REPLACE TEMP MACRO ratio(a, b) AS CASE WHEN b > 0 THEN a / b END;

-- Every roster employee's team, department and company: one row per org level, so marts aggregate
-- all three levels with an ordinary GROUP BY (org_level, org_unit).
CREATE OR REPLACE TEMP TABLE mart_unit_paths AS
SELECT DISTINCT r.department, r.team, u.org_level, u.org_unit, u.parent_unit
FROM staging.roster r
CROSS JOIN LATERAL (
    VALUES ('team', r.team, r.department), ('department', r.department, 'company'), ('company', 'company', NULL)
) AS u(org_level, org_unit, parent_unit);

-- One row per message (post or reply) by a roster employee, with its scored sentiment and themes.
CREATE OR REPLACE TEMP TABLE mart_messages AS
SELECT
    p.post_key,
    p.parent_key,
    p.author_key,
    p.department,
    p.team,
    p.created_at,
    date_trunc('week', p.created_at AT TIME ZONE 'UTC')::DATE AS week_start,
    date_trunc('month', p.created_at AT TIME ZONE 'UTC')::DATE AS month_start,
    p.is_reply,
    p.reactions,
    d.doc_id,
    d.sentiment_score,
    d.sentiment_label,
    coalesce(t.leave_intent, FALSE) AS leave_intent,
    r.hire_date
FROM staging.posts p
JOIN nlp.documents d ON d.source_key = p.post_key AND d.doc_type = 'post' AND d.field = 'text'
JOIN staging.roster r ON r.employee_key = p.author_key
LEFT JOIN nlp.document_themes t ON t.doc_id = d.doc_id AND t.text_hash = d.text_hash
WHERE p.author_in_roster;

-- The reporting period: every ISO week (Monday) and month between the first and the last message.
CREATE OR REPLACE TEMP TABLE mart_weeks AS
SELECT unnest(generate_series(min(week_start), max(week_start), INTERVAL 7 DAY))::DATE AS week_start
FROM mart_messages;

CREATE OR REPLACE TEMP TABLE mart_months AS
SELECT unnest(generate_series(min(month_start), max(month_start), INTERVAL 1 MONTH))::DATE AS month_start
FROM mart_messages;

-- Who was employed in each week (at any time Monday–Sunday).
CREATE OR REPLACE TEMP TABLE mart_employment_weekly AS
SELECT w.week_start, r.employee_key, r.department, r.team
FROM mart_weeks w
JOIN staging.roster r
  ON r.hire_date <= w.week_start + 6
 AND (r.termination_date IS NULL OR r.termination_date >= w.week_start);

-- Sentence-level sentiment of every theme mention (aspect-level attribution): a theme span takes the
-- sentiment of the sentence(s) it overlaps; a document without sentence rows falls back to its own.
-- Labels use the same argmax as nlp.documents (ties: negative, then neutral).
CREATE OR REPLACE TEMP TABLE mart_theme_sentences AS
SELECT DISTINCT ON (m.doc_id, st.theme, coalesce(s.sentence_index, -1))
    m.doc_id,
    m.author_key,
    m.department,
    m.team,
    m.week_start,
    m.month_start,
    st.theme,
    coalesce(s.sentiment_score, m.sentiment_score) AS sentiment_score,
    CASE
        WHEN s.doc_id IS NULL THEN m.sentiment_label
        WHEN s.p_negative >= s.p_neutral AND s.p_negative >= s.p_positive THEN 'negative'
        WHEN s.p_neutral >= s.p_positive THEN 'neutral'
        ELSE 'positive'
    END AS sentiment_label
FROM mart_messages m
JOIN nlp.sentence_themes st ON st.doc_id = m.doc_id
LEFT JOIN nlp.sentences s
  ON s.doc_id = st.doc_id AND s.start_char < st.end_char AND st.start_char < s.end_char;
