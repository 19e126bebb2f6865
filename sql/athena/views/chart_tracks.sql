-- For each playlist and day, which distinct tracks were on the chart, at which best rank, and how many times
-- was each listed (a playlist may list the same track twice)?
CREATE OR REPLACE VIEW chart_tracks AS
SELECT
    snapshot_date,
    playlist_id,
    min_by(playlist_name, chart_rank) AS playlist_name,
    track_id,
    min(chart_rank) AS chart_rank,
    count(*) AS listings,
    min_by(track_name, chart_rank) AS track_name,
    min_by(album_id, chart_rank) AS album_id,
    min_by(artist_ids, chart_rank) AS artist_ids,
    min_by(is_explicit, chart_rank) AS is_explicit
FROM chart_entries
GROUP BY snapshot_date, playlist_id, track_id
