-- How did the current top 5 tracks of each playlist move through the chart, day by day (playlists and
-- tracks by id, under their latest names)?
WITH top_now AS (
    SELECT c.playlist_id, c.track_id
    FROM chart_tracks AS c
    JOIN playlist_snapshot_sequence AS q
        ON q.playlist_id = c.playlist_id AND q.snapshot_date = c.snapshot_date AND q.is_latest
    WHERE c.chart_rank <= 5
)
SELECT c.playlist_id, p.playlist_name, c.track_id, ct.track_name, c.snapshot_date, c.chart_rank
FROM chart_tracks AS c
JOIN top_now AS t ON t.playlist_id = c.playlist_id AND t.track_id = c.track_id
JOIN current_playlists AS p ON p.playlist_id = c.playlist_id
JOIN current_tracks AS ct ON ct.track_id = c.track_id
ORDER BY p.playlist_name, c.playlist_id, c.track_id, c.snapshot_date
