"""The AWS Lambda entry point: ``extract_lambda.handler.handler``.

Configuration comes from the environment (``ENV_VARS``, ``REQUIRED_ENV_VARS`` must be set; both built from
:mod:`extract_lambda.settings`), the Spotify credentials from a Secrets Manager secret holding JSON
``{"client_id", "client_secret", "refresh_token"?}``.
An event ``{"playlist_ids": [...]}`` overrides ``PLAYLIST_IDS`` (an EventBridge schedule sends none).

Every playlist that can be read is landed first. Failure policy (docs/extract.md): a playlist that is gone or
forbidden (permanent) is reported in the result and counted in the ``PermanentFailures`` metric, which has an
alarm, and does not fail the invocation; any other failure (retryable) makes the handler raise
:class:`ExtractFailedError` naming each failed playlist, after recording what is settled, so Lambda's retry
of the same event extracts only what failed (:class:`extract_lambda.state.InvocationProgress`); when the retries are spent,
the event goes once to the on-failure destination. Metrics are printed in CloudWatch's embedded metric
format. The deadline is the Lambda's remaining time minus a safety margin.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from extract_lambda import settings
from extract_lambda.client import TOKEN_NOT_STORED, ExtractError
from extract_lambda.extractor import ExtractReport, ExtractSettings, extract_playlists, normalize_playlist_id
from extract_lambda.landing import S3Lander
from extract_lambda.logs import RedactingFilter, configure_lambda_logging, log_event
from extract_lambda.report import emit_metrics
from extract_lambda.state import InvocationProgress, S3StateStore, event_key

ENV_VARS: tuple[str, ...] = settings.names_read_by(settings.LAMBDA)
REQUIRED_ENV_VARS: tuple[str, ...] = settings.required_by(settings.LAMBDA)
DEFAULTS: dict[str, str] = settings.defaults_for(settings.LAMBDA)
# Seconds kept back from the Lambda's remaining time to land, log and return.
SAFETY_MARGIN_SECONDS = 5.0

logger = logging.getLogger("extract_lambda.handler")


class ConfigError(ValueError):
    """The Lambda is misconfigured (environment, event or secret); the message says what to fix."""


class ExtractFailedError(RuntimeError):
    """Raised after landing everything else, when at least one playlist could not be extracted."""


class SecretTokenStore:
    """``on_rotated`` for the Lambda: a rotated refresh token into the secret, the other keys kept.

    Written (``PutSecretValue`` on the function's one secret) before the new access token is used. If the
    write fails the secret keeps the old token (Spotify may still accept it) and the run stops with a
    permanent ``token_not_stored`` failure, counted in the ``RefreshTokenNotStored`` metric, which has an
    alarm (docs/extract.md, "Recovery: a rotated refresh token not stored"). The token is never logged.
    """

    def __init__(self, secrets_client: Any, secret_arn: str, redactor: RedactingFilter | None = None) -> None:
        self.client = secrets_client
        self.secret_arn = secret_arn
        self.redactor = redactor

    def __call__(self, new_token: str) -> None:
        if self.redactor is not None:
            self.redactor.add([new_token])
        try:
            current = json.loads(self.client.get_secret_value(SecretId=self.secret_arn)["SecretString"])
            current["refresh_token"] = new_token
            self.client.put_secret_value(SecretId=self.secret_arn, SecretString=json.dumps(current))
        except Exception as error:
            cause = f"{type(error).__name__}: {error}"
            if self.redactor is not None:
                cause = self.redactor.redact(cause)
            raise ExtractError(
                TOKEN_NOT_STORED,
                f"Spotify issued a new refresh token that could not be stored in secret {self.secret_arn} "
                f"({cause}): stopped; fix what failed, then if the next run answers invalid_grant authorize the "
                "app again and put the new refresh token in the secret (docs/extract.md, 'Recovery: a rotated "
                "refresh token not stored')",
            ) from None
        log_event(logger, "refresh_token_rotated", secret=self.secret_arn, stored=True)


def playlist_ids_from(event: Mapping[str, Any] | None, env: Mapping[str, str]) -> tuple[str, ...]:
    """The event's ``playlist_ids`` if given, else ``PLAYLIST_IDS`` (comma-separated)."""
    raw: Any = (event or {}).get("playlist_ids") if isinstance(event, Mapping) else None
    source = "event playlist_ids"
    if raw is None:
        raw = env.get(settings.PLAYLIST_IDS, "")
        source = settings.PLAYLIST_IDS
    if isinstance(raw, str):
        raw = settings.comma_separated(raw)
    if not isinstance(raw, list | tuple):
        raise ConfigError(f"{source} must be a list of playlist ids or a comma-separated string")
    ids = [str(p).strip() for p in raw if str(p).strip()]
    if not ids:
        raise ConfigError(
            f"no playlist ids: set {settings.PLAYLIST_IDS} (comma-separated) or send {{'playlist_ids': [...]}}"
        )
    try:
        return tuple(normalize_playlist_id(p) for p in ids)
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None


def read_secret(secrets_client: Any, secret_arn: str) -> dict[str, str]:
    """The Spotify credentials from Secrets Manager; errors name the secret and the missing keys only."""
    try:
        answer = secrets_client.get_secret_value(SecretId=secret_arn)
    except Exception as error:
        raise ConfigError(f"cannot read secret {secret_arn}: {type(error).__name__}: {error}") from None
    text = answer.get("SecretString")
    if not text:
        raise ConfigError(
            f"secret {secret_arn} has no SecretString (expected JSON with client_id, client_secret)"
        )
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigError(f"secret {secret_arn} is not JSON (expected client_id, client_secret)") from None
    if not isinstance(value, dict):
        raise ConfigError(f"secret {secret_arn} is not a JSON object")
    missing = [k for k in ("client_id", "client_secret") if not value.get(k)]
    if missing:
        raise ConfigError(f"secret {secret_arn} lacks {', '.join(missing)} (keys present: {sorted(value)})")
    return {k: str(v) for k, v in value.items() if k in ("client_id", "client_secret", "refresh_token") and v}


def settings_from(
    env: Mapping[str, str], secret: Mapping[str, str], playlist_ids: tuple[str, ...]
) -> ExtractSettings:
    """The extract's settings: the credentials from the secret, the rest from the environment."""
    try:
        cache_days = settings.number(env, settings.ARTIST_CACHE_DAYS)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return settings.extract_settings(env, playlist_ids, secret, artist_cache_days=cache_days)


def _extract(
    env: Mapping[str, str],
    extract: ExtractSettings,
    s3: Any,
    state: S3StateStore,
    rotation: SecretTokenStore,
    context: Any,
) -> ExtractReport:
    """Extract into ``s3://$RAW_BUCKET/$RAW_PREFIX/`` within the Lambda's remaining time."""
    lander = S3Lander(s3, env[settings.RAW_BUCKET], settings.value(env, settings.RAW_PREFIX))
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 900_000
    deadline = time.monotonic() + max(1.0, remaining_ms / 1000.0 - SAFETY_MARGIN_SECONDS)
    return extract_playlists(
        extract, lander, now=lambda: datetime.now(UTC), deadline=deadline, state=state, on_token_rotated=rotation,
    )  # fmt: skip


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Extract the configured playlists into ``s3://$RAW_BUCKET/$RAW_PREFIX/``.

    Returns:
        The report as a dict (``outcomes`` per playlist) when nothing failed, or only permanently.

    Raises:
        ConfigError: the environment, event or secret is unusable (nothing was fetched).
        ExtractFailedError: after landing the others, naming each playlist that failed and why, when a
            failure is retryable (the retry extracts only those).
    """
    import boto3  # in the Lambda runtime; imported here so that the module imports without it

    env = os.environ
    log_level = settings.value(env, settings.LOG_LEVEL)
    configure_lambda_logging(log_level)
    missing = settings.missing(env, REQUIRED_ENV_VARS)
    if missing:
        raise ConfigError(f"missing environment variables: {', '.join(missing)}")
    playlist_ids = playlist_ids_from(event, env)
    secrets_client = boto3.client("secretsmanager")
    secret = read_secret(secrets_client, env[settings.SECRET_ARN])
    redactor = configure_lambda_logging(log_level, secret.values())
    s3 = boto3.client("s3")
    state = S3StateStore(s3, env[settings.RAW_BUCKET], settings.value(env, settings.STATE_PREFIX_VAR))
    progress = InvocationProgress(state, event_key(event, getattr(context, "aws_request_id", None)))
    settled = progress.settled
    todo = tuple(p for p in playlist_ids if p not in settled)
    report = ExtractReport()
    rotation = SecretTokenStore(secrets_client, env[settings.SECRET_ARN], redactor)
    if todo:
        report = _extract(env, settings_from(env, secret, todo), s3, state, rotation, context)
    progress.save(
        [(p.playlist_id, "landed" if p.created else "already_present") for p in report.landed]
        + [(p.playlist_id, f"failed:{p.reason}") for p in report.failed if p.permanent]
    )
    emit_metrics(report, settings.value(env, settings.METRICS_NAMESPACE), sys.stdout)
    summary = redactor.redact(report.summary())
    log_event(
        logger,
        "extract_finished",
        ok=report.ok,
        landed=len(report.landed),
        settled_before=sorted(settled),
        failed_permanently=[p.playlist_id for p in report.failed if p.permanent],
        failed_retryable=[p.playlist_id for p in report.retryable],
        artists_fetched=report.artists_fetched,
        artists_from_cache=report.artists_from_cache,
        api_calls=report.api_calls,
    )
    if report.retryable:
        raise ExtractFailedError(summary)
    answer = report.as_dict()
    answer["settled_before"] = settled
    return answer
