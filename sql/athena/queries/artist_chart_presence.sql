-- Which artists are most present on the charts: chart entries (distinct track x playlist x day) crediting them,
-- through track_artists, and their share of all chart entries?
WITH totals AS (
    SELECT count(*) AS all_entries FROM chart_tracks
),
credited AS (
    SELECT DISTINCT ta.artist_id, c.playlist_id, c.snapshot_date, c.track_id
    FROM chart_tracks AS c
    JOIN track_artists AS ta ON ta.track_id = c.track_id AND ta.snapshot_date = c.snapshot_date
)
SELECT
    x.artist_id,
    a.artist_name,
    count(*) AS chart_entries,
    count(DISTINCT x.track_id) AS tracks,
    count(DISTINCT x.playlist_id) AS playlists,
    round(CAST(count(*) AS double) / max(t.all_entries), 4) AS entry_share
FROM credited AS x
CROSS JOIN totals AS t
LEFT JOIN current_artists AS a ON a.artist_id = x.artist_id
GROUP BY x.artist_id, a.artist_name
ORDER BY chart_entries DESC, a.artist_name, x.artist_id
LIMIT 50
