-- Which tracks were on each playlist's chart on each day, and at which rank (1 = top; episodes, local and
-- unavailable items are not ranked)?
CREATE OR REPLACE VIEW chart_entries AS
SELECT
    i.snapshot_date,
    i.playlist_id,
    s.playlist_name,
    CAST(row_number() OVER (PARTITION BY i.playlist_id, i.snapshot_date ORDER BY i.position) AS integer) AS chart_rank,
    i.position,
    i.track_id,
    t.track_name,
    t.album_id,
    t.artist_ids,
    t.is_explicit
FROM playlist_items AS i
JOIN playlist_snapshots AS s
    ON s.playlist_id = i.playlist_id AND s.snapshot_date = i.snapshot_date
LEFT JOIN tracks AS t
    ON t.track_id = i.track_id AND t.snapshot_date = i.snapshot_date
WHERE i.item_type = 'track'
