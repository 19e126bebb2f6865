"""The extract Lambda: Spotify Web API (spotipy) -> raw JSON envelopes in S3 (or a local lake)."""
