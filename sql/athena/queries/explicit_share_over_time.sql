-- What share of each playlist's chart is explicit, day by day (tracks whose explicit flag is unknown are
-- left out of the share; each playlist by id, under its latest name)?
SELECT
    c.snapshot_date,
    c.playlist_id,
    p.playlist_name,
    count(*) AS chart_tracks,
    count_if(c.is_explicit) AS explicit_tracks,
    round(CAST(count_if(c.is_explicit) AS double) / nullif(count(c.is_explicit), 0), 4) AS explicit_share
FROM chart_tracks AS c
JOIN current_playlists AS p ON p.playlist_id = c.playlist_id
GROUP BY c.snapshot_date, c.playlist_id, p.playlist_name
ORDER BY c.snapshot_date, p.playlist_name, c.playlist_id
