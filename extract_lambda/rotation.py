"""Keep a rotated refresh token: Spotify may answer a refresh with a new refresh token.

The token response of a refresh grant may carry a ``refresh_token`` (spotipy keeps the old one only when
it does not: ``SpotifyOAuth.refresh_access_token``); once a new one is issued the old one may stop working,
so it is stored at once, before the run goes on. (Rotation does not extend a refresh token's lifetime:
Spotify expires them 6 months after the user's authorization, answering ``invalid_grant``:
https://developer.spotify.com/blog/2026-06-18-refresh-token-expiration.)

- on AWS, :class:`SecretTokenStore` writes it into the Lambda's secret (``PutSecretValue`` on that one
  secret; the role is granted nothing else in Secrets Manager), keeping the other keys, so the next run
  reads it;
- locally, :class:`LocalTokenNotice` writes it to a file only the user can read and warns which
  environment variable to update. The token itself is never printed or logged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from extract_lambda.logs import RedactingFilter, log_event

logger = logging.getLogger("extract_lambda.rotation")
REFRESH_TOKEN_ENV_VAR = "SPOTIFY_REFRESH_TOKEN"


class SecretTokenStore:
    """``on_rotated`` for the Lambda: the new refresh token into the secret, the rest kept as is."""

    def __init__(self, secrets_client: Any, secret_arn: str, redactor: RedactingFilter | None = None) -> None:
        self.client = secrets_client
        self.secret_arn = secret_arn
        self.redactor = redactor
        self.error: str | None = None  # why the last rotation could not be stored

    def __call__(self, new_token: str) -> None:
        if self.redactor is not None:
            self.redactor.add([new_token])
        try:
            current = json.loads(self.client.get_secret_value(SecretId=self.secret_arn)["SecretString"])
            current["refresh_token"] = new_token
            self.client.put_secret_value(SecretId=self.secret_arn, SecretString=json.dumps(current))
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            log_event(
                logger, "refresh_token_not_stored", logging.ERROR, secret=self.secret_arn, error=self.error,
                action="the old refresh token may no longer work: authorize the app again and store the new token",
            )  # fmt: skip
            return
        self.error = None
        log_event(logger, "refresh_token_rotated", secret=self.secret_arn, stored=True)


class LocalTokenNotice:
    """``on_rotated`` for the CLI: the token into a mode-600 file, and a warning naming the variable."""

    def __init__(self, path: Path, redactor: RedactingFilter | None = None) -> None:
        self.path = path
        self.redactor = redactor
        self.rotated = False

    def __call__(self, new_token: str) -> None:
        if self.redactor is not None:
            self.redactor.add([new_token])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_token + "\n")
        os.chmod(self.path, 0o600)
        self.rotated = True
        log_event(
            logger, "refresh_token_rotated", logging.WARNING, stored=str(self.path),
            action=f"Spotify issued a new refresh token: set {REFRESH_TOKEN_ENV_VAR} to the content of "
            f"{self.path} (readable only by you); the old value may stop working",
        )  # fmt: skip

    def warning(self) -> str | None:
        if not self.rotated:
            return None
        return (
            f"Spotify rotated the refresh token: update {REFRESH_TOKEN_ENV_VAR} with the new value stored in "
            f"{self.path} (mode 600); the old value may stop working"
        )
