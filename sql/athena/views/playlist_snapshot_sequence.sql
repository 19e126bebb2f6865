-- For each snapshot of each playlist: which snapshot came before it, and is it the playlist's latest?
CREATE OR REPLACE VIEW playlist_snapshot_sequence AS
SELECT
    playlist_id,
    playlist_name,
    snapshot_date,
    lag(snapshot_date) OVER (PARTITION BY playlist_id ORDER BY snapshot_date) AS previous_snapshot_date,
    snapshot_date = max(snapshot_date) OVER (PARTITION BY playlist_id) AS is_latest
FROM playlist_snapshots
