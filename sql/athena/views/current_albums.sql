-- What is the current state of each album, i.e. its row in the latest partition (snapshot_date) it appears in?
CREATE OR REPLACE VIEW current_albums AS
SELECT
    album_id,
    max_by(album_name, snapshot_date) AS album_name,
    max_by(album_type, snapshot_date) AS album_type,
    max_by(release_date, snapshot_date) AS release_date,
    max_by(release_date_raw, snapshot_date) AS release_date_raw,
    max_by(release_date_precision, snapshot_date) AS release_date_precision,
    max_by(total_tracks, snapshot_date) AS total_tracks,
    max_by(artist_ids, snapshot_date) AS artist_ids,
    max_by(image_url, snapshot_date) AS image_url,
    min(snapshot_date) AS first_seen_date,
    max(snapshot_date) AS last_seen_date
FROM albums
GROUP BY album_id
