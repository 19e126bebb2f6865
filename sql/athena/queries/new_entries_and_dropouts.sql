-- In each playlist's latest snapshot, which tracks are new entries and which dropped out since the previous
-- snapshot (with their current or last rank, and each track's latest name)?
WITH latest AS (
    SELECT playlist_id, playlist_name, snapshot_date, previous_snapshot_date
    FROM playlist_snapshot_sequence
    WHERE is_latest AND previous_snapshot_date IS NOT NULL
)
SELECT l.playlist_name, l.snapshot_date, 'new entry' AS change, c.chart_rank AS chart_rank, c.track_id, ct.track_name
FROM latest AS l
JOIN chart_tracks AS c ON c.playlist_id = l.playlist_id AND c.snapshot_date = l.snapshot_date
JOIN current_tracks AS ct ON ct.track_id = c.track_id
WHERE NOT EXISTS (
    SELECT 1 FROM chart_tracks AS p
    WHERE p.playlist_id = l.playlist_id AND p.snapshot_date = l.previous_snapshot_date AND p.track_id = c.track_id
)
UNION ALL
SELECT l.playlist_name, l.snapshot_date, 'drop-out' AS change, p.chart_rank AS chart_rank, p.track_id, ct.track_name
FROM latest AS l
JOIN chart_tracks AS p ON p.playlist_id = l.playlist_id AND p.snapshot_date = l.previous_snapshot_date
JOIN current_tracks AS ct ON ct.track_id = p.track_id
WHERE NOT EXISTS (
    SELECT 1 FROM chart_tracks AS c
    WHERE c.playlist_id = l.playlist_id AND c.snapshot_date = l.snapshot_date AND c.track_id = p.track_id
)
ORDER BY playlist_name, change DESC, chart_rank
