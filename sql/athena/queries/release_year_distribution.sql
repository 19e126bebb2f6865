-- In which years were the tracks in each playlist's latest snapshot released (by their album's release date)?
WITH latest_tracks AS (
    SELECT DISTINCT c.track_id, c.album_id
    FROM chart_tracks AS c
    JOIN playlist_snapshot_sequence AS q
        ON q.playlist_id = c.playlist_id AND q.snapshot_date = c.snapshot_date AND q.is_latest
)
SELECT
    year(al.release_date) AS release_year,
    count(*) AS tracks
FROM latest_tracks AS t
JOIN current_albums AS al ON al.album_id = t.album_id
GROUP BY year(al.release_date)
ORDER BY release_year
