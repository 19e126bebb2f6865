-- Which tracks have stayed on a playlist's chart the longest (days on chart), and how high did they get
-- (playlists and tracks by id, under their latest names)?
SELECT
    c.playlist_id,
    q.playlist_name,
    c.track_id,
    ct.track_name,
    count(DISTINCT c.snapshot_date) AS days_on_chart,
    min(c.chart_rank) AS best_rank,
    min(c.snapshot_date) AS first_seen_date,
    max(c.snapshot_date) AS last_seen_date,
    max(c.snapshot_date) = max(q.last_snapshot_date) AS still_on_chart
FROM chart_tracks AS c
JOIN current_playlists AS q ON q.playlist_id = c.playlist_id
JOIN current_tracks AS ct ON ct.track_id = c.track_id
GROUP BY c.playlist_id, q.playlist_name, c.track_id, ct.track_name
ORDER BY days_on_chart DESC, best_rank, q.playlist_name, c.playlist_id, ct.track_name, c.track_id
LIMIT 50
