-- What share of each playlist's chart is explicit, day by day (tracks whose explicit flag is unknown are
-- left out of the share)?
SELECT
    snapshot_date,
    playlist_name,
    count(*) AS chart_tracks,
    count_if(is_explicit) AS explicit_tracks,
    round(CAST(count_if(is_explicit) AS double) / nullif(count(is_explicit), 0), 4) AS explicit_share
FROM chart_tracks
GROUP BY snapshot_date, playlist_id, playlist_name
ORDER BY snapshot_date, playlist_name
