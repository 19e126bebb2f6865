-- How did the latest whole-lake data quality evaluation go: which rules failed (ERROR first), and what did each observe?
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
-- spotify-etl quality and make run judge the whole lake; the transform's gate only the partitions a run touches
WHERE run_id = (SELECT max(run_id) FROM data_quality_results WHERE evaluated_by <> 'transform')
ORDER BY
    CASE outcome WHEN 'FAIL' THEN 0 ELSE 1 END,
    CASE severity WHEN 'ERROR' THEN 0 ELSE 1 END,
    table_name,
    rule
