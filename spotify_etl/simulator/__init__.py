"""The offline Spotify Web API simulator: a deterministic chart world served on 127.0.0.1."""
