-- staging.texts: every text field the NLP layer scores, one row per (post|review, field).
CREATE OR REPLACE VIEW staging.texts AS
SELECT post_key || '#text' AS doc_id, post_key AS source_key, 'post' AS doc_type, 'text' AS field, text, sha256(text) AS text_hash
FROM staging.posts
UNION ALL
SELECT review_key || '#' || f.field, review_key, 'review', f.field, f.text, sha256(f.text)
FROM staging.reviews
CROSS JOIN LATERAL (
    VALUES ('title', title), ('pros', pros), ('cons', cons), ('text', text)
) AS f(field, text)
WHERE f.text IS NOT NULL AND trim(f.text) <> '';
