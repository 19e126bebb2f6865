-- How many tracks entered and how many dropped out of each playlist's chart on each day, compared with the
-- playlist's previous snapshot (each playlist by id, under its latest name)?
WITH pairs AS (
    SELECT playlist_id, playlist_name, snapshot_date, previous_snapshot_date
    FROM playlist_snapshot_sequence
    WHERE previous_snapshot_date IS NOT NULL
),
entered AS (
    SELECT q.playlist_id, q.snapshot_date, count_if(p.track_id IS NULL) AS n
    FROM pairs AS q
    JOIN chart_tracks AS c
        ON c.playlist_id = q.playlist_id AND c.snapshot_date = q.snapshot_date
    LEFT JOIN chart_tracks AS p
        ON p.playlist_id = q.playlist_id AND p.snapshot_date = q.previous_snapshot_date AND p.track_id = c.track_id
    GROUP BY q.playlist_id, q.snapshot_date
),
dropped AS (
    SELECT q.playlist_id, q.snapshot_date, count_if(c.track_id IS NULL) AS n
    FROM pairs AS q
    JOIN chart_tracks AS p
        ON p.playlist_id = q.playlist_id AND p.snapshot_date = q.previous_snapshot_date
    LEFT JOIN chart_tracks AS c
        ON c.playlist_id = q.playlist_id AND c.snapshot_date = q.snapshot_date AND c.track_id = p.track_id
    GROUP BY q.playlist_id, q.snapshot_date
)
SELECT
    q.snapshot_date,
    q.playlist_id,
    cp.playlist_name,
    coalesce(e.n, 0) AS new_entries,
    coalesce(d.n, 0) AS dropouts
FROM pairs AS q
JOIN current_playlists AS cp ON cp.playlist_id = q.playlist_id
LEFT JOIN entered AS e ON e.playlist_id = q.playlist_id AND e.snapshot_date = q.snapshot_date
LEFT JOIN dropped AS d ON d.playlist_id = q.playlist_id AND d.snapshot_date = q.snapshot_date
ORDER BY q.snapshot_date, cp.playlist_name, q.playlist_id
