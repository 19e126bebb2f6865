-- What is the current state of each artist: the latest name, and the latest enrichment (genres, popularity,
-- followers) from the latest partition whose observation carried the full artist object?
CREATE OR REPLACE VIEW current_artists AS
SELECT
    artist_id,
    max_by(artist_name, snapshot_date) AS artist_name,
    max_by(artist_uri, snapshot_date) AS artist_uri,
    max_by(genres, IF(genres IS NOT NULL, snapshot_date)) AS genres,
    max_by(popularity, IF(genres IS NOT NULL, snapshot_date)) AS popularity,
    max_by(followers, IF(genres IS NOT NULL, snapshot_date)) AS followers,
    max(IF(genres IS NOT NULL, snapshot_date)) AS enriched_date,
    min(snapshot_date) AS first_seen_date,
    max(snapshot_date) AS last_seen_date
FROM artists
GROUP BY artist_id
