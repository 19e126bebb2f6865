-- How recent are the albums charting in each playlist's latest snapshot: days from release to the snapshot,
-- bucketed?
WITH latest_entries AS (
    SELECT c.playlist_id, c.track_id, c.album_id, c.snapshot_date
    FROM chart_tracks AS c
    JOIN playlist_snapshot_sequence AS q
        ON q.playlist_id = c.playlist_id AND q.snapshot_date = c.snapshot_date AND q.is_latest
)
SELECT
    al.album_id,
    al.album_name,
    al.release_date,
    al.release_date_precision,
    date_diff('day', al.release_date, CAST(max(e.snapshot_date) AS date)) AS days_since_release,
    CASE
        WHEN al.release_date IS NULL THEN 'unknown'
        WHEN date_diff('day', al.release_date, CAST(max(e.snapshot_date) AS date)) <= 30 THEN '0-30 days'
        WHEN date_diff('day', al.release_date, CAST(max(e.snapshot_date) AS date)) <= 365 THEN '31-365 days'
        WHEN date_diff('day', al.release_date, CAST(max(e.snapshot_date) AS date)) <= 5 * 365 THEN '1-5 years'
        ELSE 'older'
    END AS recency,
    count(*) AS chart_entries
FROM latest_entries AS e
JOIN current_albums AS al ON al.album_id = e.album_id
GROUP BY al.album_id, al.album_name, al.release_date, al.release_date_precision
ORDER BY days_since_release, al.album_name
