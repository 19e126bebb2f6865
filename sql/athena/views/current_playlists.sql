-- What is the current state of each playlist: name, owner, followers and size in its latest snapshot?
CREATE OR REPLACE VIEW current_playlists AS
SELECT
    playlist_id,
    max_by(playlist_name, snapshot_date) AS playlist_name,
    max_by(description, snapshot_date) AS description,
    max_by(owner_display_name, snapshot_date) AS owner_display_name,
    max_by(followers, snapshot_date) AS followers,
    max_by(snapshot_id, snapshot_date) AS snapshot_id,
    max_by(item_count, snapshot_date) AS item_count,
    count(*) AS snapshots,
    min(snapshot_date) AS first_snapshot_date,
    max(snapshot_date) AS last_snapshot_date
FROM playlist_snapshots
GROUP BY playlist_id
