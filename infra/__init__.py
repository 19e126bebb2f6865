"""Infrastructure as code and its packaging (not part of the runtime packages)."""
