-- What is the current state of each track, i.e. its row in the latest partition (snapshot_date) it appears in?
CREATE OR REPLACE VIEW current_tracks AS
SELECT
    track_id,
    max_by(track_name, snapshot_date) AS track_name,
    max_by(album_id, snapshot_date) AS album_id,
    max_by(artist_ids, snapshot_date) AS artist_ids,
    max_by(duration_ms, snapshot_date) AS duration_ms,
    max_by(is_explicit, snapshot_date) AS is_explicit,
    max_by(isrc, snapshot_date) AS isrc,
    max_by(popularity, snapshot_date) AS popularity,
    max_by(track_uri, snapshot_date) AS track_uri,
    min(snapshot_date) AS first_seen_date,
    max(snapshot_date) AS last_seen_date
FROM tracks
GROUP BY track_id
