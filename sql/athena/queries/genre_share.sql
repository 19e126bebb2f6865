-- Among the tracks in each playlist's latest snapshot whose artists were enriched with genres, which genres
-- do they carry, and what share of those entries has each genre?
WITH latest_entries AS (
    SELECT c.playlist_id, c.chart_rank, c.track_id, c.snapshot_date
    FROM chart_tracks AS c
    JOIN playlist_snapshot_sequence AS q
        ON q.playlist_id = c.playlist_id AND q.snapshot_date = c.snapshot_date AND q.is_latest
),
entry_genres AS (
    SELECT DISTINCT e.playlist_id, e.chart_rank, g.genre
    FROM latest_entries AS e
    JOIN track_artists AS ta ON ta.track_id = e.track_id AND ta.snapshot_date = e.snapshot_date
    JOIN current_artists AS a ON a.artist_id = ta.artist_id
    CROSS JOIN UNNEST(a.genres) AS g (genre)
),
enriched AS (
    SELECT count(DISTINCT e.playlist_id || '#' || CAST(e.chart_rank AS varchar)) AS entries
    FROM latest_entries AS e
    JOIN track_artists AS ta ON ta.track_id = e.track_id AND ta.snapshot_date = e.snapshot_date
    JOIN current_artists AS a ON a.artist_id = ta.artist_id
    WHERE a.genres IS NOT NULL
)
SELECT
    g.genre,
    count(*) AS chart_entries,
    max(n.entries) AS enriched_entries,
    round(CAST(count(*) AS double) / max(n.entries), 4) AS share
FROM entry_genres AS g
CROSS JOIN enriched AS n
GROUP BY g.genre
ORDER BY chart_entries DESC, g.genre
