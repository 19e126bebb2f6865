-- How did the current top 5 tracks of each playlist move through the chart, day by day?
WITH top_now AS (
    SELECT c.playlist_id, c.track_id
    FROM chart_tracks AS c
    JOIN playlist_snapshot_sequence AS q
        ON q.playlist_id = c.playlist_id AND q.snapshot_date = c.snapshot_date AND q.is_latest
    WHERE c.chart_rank <= 5
)
SELECT c.playlist_name, c.track_id, c.track_name, c.snapshot_date, c.chart_rank
FROM chart_tracks AS c
JOIN top_now AS t ON t.playlist_id = c.playlist_id AND t.track_id = c.track_id
ORDER BY c.playlist_name, c.track_id, c.snapshot_date
