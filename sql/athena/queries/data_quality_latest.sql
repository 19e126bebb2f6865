-- How did the latest data quality evaluation go: which rules failed (ERROR first), and what did each observe?
SELECT
    table_name,
    rule,
    severity,
    outcome,
    observed,
    message,
    rule_line,
    evaluated_by,
    evaluated_at
FROM data_quality_results
WHERE run_id = (SELECT max(run_id) FROM data_quality_results)
ORDER BY
    CASE outcome WHEN 'FAIL' THEN 0 ELSE 1 END,
    CASE severity WHEN 'ERROR' THEN 0 ELSE 1 END,
    table_name,
    rule
