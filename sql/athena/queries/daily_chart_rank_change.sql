-- What is each playlist's chart in its latest snapshot, and how did each track's rank change since the
-- playlist's previous snapshot (rank_change > 0: climbed)?
SELECT
    c.playlist_id,
    c.playlist_name,
    c.snapshot_date,
    c.chart_rank,
    c.track_id,
    c.track_name,
    p.chart_rank AS previous_rank,
    p.chart_rank - c.chart_rank AS rank_change,
    CASE
        WHEN q.previous_snapshot_date IS NULL THEN 'first snapshot'
        WHEN p.chart_rank IS NULL THEN 'new'
        WHEN p.chart_rank > c.chart_rank THEN 'up'
        WHEN p.chart_rank < c.chart_rank THEN 'down'
        ELSE 'same'
    END AS movement
FROM playlist_snapshot_sequence AS q
JOIN chart_tracks AS c
    ON c.playlist_id = q.playlist_id AND c.snapshot_date = q.snapshot_date
LEFT JOIN chart_tracks AS p
    ON p.playlist_id = q.playlist_id AND p.snapshot_date = q.previous_snapshot_date AND p.track_id = c.track_id
WHERE q.is_latest
ORDER BY c.playlist_name, c.playlist_id, c.chart_rank
