"""Extract into a local lake: the one way ``spotify-etl extract``, ``make run`` and the tests run the Lambda's code.

The Lambda lands in S3 and keeps its state in S3 and its refresh token in Secrets Manager; locally the same
extractor (:func:`extract_lambda.extractor.extract_playlists`) lands under ``LAKE/raw/``, keeps its state
under ``LAKE/_state/extract/`` (the same key as in the bucket) and a rotated refresh token in
``LAKE/_state/extract/spotify_refresh_token``. These local stand-ins live here, not in ``extract_lambda/``:
the Lambda's zip holds only what the Lambda runs.

A local object's URI is ``file://`` + its absolute path, taken literally (:func:`spotify_etl.lake.path_uri`),
as the local transform lists it and writes it into ``source_file``: one convention, nothing to unquote.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extract_lambda.client import TOKEN_NOT_STORED, ExtractError
from extract_lambda.extractor import ExtractReport, ExtractSettings, FailedPlaylist, extract_playlists
from extract_lambda.landing import LandResult, build_envelope, encode_envelope, format_extracted_at, raw_key
from extract_lambda.logs import RedactingFilter, log_event
from extract_lambda.state import decode_state, encode_state
from spotify_etl.lake import LakeLayout, local_path, path_uri

if TYPE_CHECKING:  # only a type here: the simulator is imported by whoever simulates
    from spotify_etl.simulator.world import ChartWorld

TOKEN_FILE = "spotify_refresh_token"
REFRESH_TOKEN_ENV_VAR = "SPOTIFY_REFRESH_TOKEN"
logger = logging.getLogger("spotify_etl.local_extract")
RECOVERY = "docs/extract.md, 'Recovery: a rotated refresh token not stored'"


def _write_atomically(folder: Path, name: str, data: bytes, mode: int = 0o644) -> None:
    """``folder/name`` holds ``data`` whole or not at all, on disk (fsync'd file and folder) when this returns."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)


class LocalLander:
    """Lands under a local raw root: a temporary file, then ``link`` (atomic, never over an existing object)."""

    def __init__(self, raw_root: str | Path) -> None:
        self.root = local_path(raw_root).absolute()

    def land(self, key: str, body: bytes) -> LandResult:
        target = self.root / key
        if target.exists():
            return LandResult(path_uri(target), key, False, target.stat().st_size)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".landing-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            try:  # link fails if the target exists: a concurrent landing of the same key never overwrites
                os.link(tmp, target)
            except FileExistsError:
                return LandResult(path_uri(target), key, False, target.stat().st_size)
        finally:
            os.unlink(tmp)
        return LandResult(path_uri(target), key, True, len(body))


def land_simulated(
    lander: LocalLander, world: ChartWorld, playlist_id: str, extracted_at: datetime
) -> tuple[dict[str, Any], bytes]:
    """Land one observation of a simulated playlist as the extractor would (without HTTP): its envelope and
    the gzip body landed (``make bench``'s data, the class-data archive's training run)."""
    playlist, items, artists = world.observe(playlist_id, extracted_at.date())
    envelope = build_envelope(
        playlist=playlist,
        items=items,
        artists=artists,
        extracted_at=extracted_at,
        artists_fetched_at={a["id"]: format_extracted_at(extracted_at) for a in artists},
        market="US",
        auth_flow="client_credentials",
    )
    body = encode_envelope(envelope)
    lander.land(raw_key(playlist["id"], extracted_at, playlist.get("snapshot_id")), body)
    return envelope, body


class LocalStateStore:
    """The extractor's state objects as files under ``root`` (``LAKE/_state/extract``), replaced atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def read(self, name: str) -> Any:
        path = self.root / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return decode_state(name, data, str(path))

    def write(self, name: str, value: Any) -> None:
        _write_atomically(self.root, name, encode_state(name, value))


class LocalTokenStore:
    """``on_rotated`` for a local run: a rotated refresh token into a mode-600 file, on disk before it is used.

    :meth:`check` proves the folder takes a file before the refresh token is first used: when it does not,
    the run stops with the token unused (so it still works). A write that fails later (after Spotify issued
    the new token) stops the run too; both are permanent ``token_not_stored`` failures with one line saying
    what to do. The token itself is never printed or logged.
    """

    def __init__(self, folder: Path, redactor: RedactingFilter | None = None) -> None:
        self.path = folder / TOKEN_FILE
        self.redactor = redactor
        self.rotated = False

    def check(self) -> str | None:
        """Why a rotated token could not be stored here (None: it can), found by storing a probe file."""
        try:
            _write_atomically(self.path.parent, f".{TOKEN_FILE}.probe", b"", 0o600)
            (self.path.parent / f".{TOKEN_FILE}.probe").unlink()
        except OSError as error:
            return (
                f"a rotated refresh token could not be stored in {self.path} ({type(error).__name__}: "
                f"{error.strerror or error}): make {self.path.parent} a writable folder and run again; "
                f"{REFRESH_TOKEN_ENV_VAR} was not used, so it still works"
            )
        return None

    def __call__(self, new_token: str) -> None:
        if self.redactor is not None:
            self.redactor.add([new_token])
        try:
            _write_atomically(self.path.parent, TOKEN_FILE, (new_token + "\n").encode(), 0o600)
        except OSError as error:
            raise ExtractError(
                TOKEN_NOT_STORED,
                f"Spotify issued a new refresh token that could not be written to {self.path} "
                f"({type(error).__name__}: {error.strerror or error}): stopped; if {REFRESH_TOKEN_ENV_VAR} now "
                f"answers invalid_grant, authorize the app again and set it to the new token ({RECOVERY})",
            ) from None
        self.rotated = True
        log_event(
            logger, "refresh_token_rotated", stored=str(self.path),
            action=f"set {REFRESH_TOKEN_ENV_VAR} to the content of {self.path} (readable only by you)",
        )  # fmt: skip

    def warning(self, used: str | None, refused: bool) -> str | None:
        """What to do about the token this run used (``refused``: the token endpoint said invalid_grant)."""
        if self.rotated:
            return (
                f"Spotify rotated the refresh token: update {REFRESH_TOKEN_ENV_VAR} with the new value stored in "
                f"{self.path} (mode 600); the old value may stop working"
            )
        try:
            stored = self.path.read_text().strip() if refused else None
        except OSError:
            return None
        if stored and stored != used:  # an earlier run stored a rotated token the variable does not have yet
            return f"an earlier run stored a newer refresh token in {self.path}: set {REFRESH_TOKEN_ENV_VAR} to it"
        return None


def extract_into_lake(
    settings: ExtractSettings,
    lake: LakeLayout,
    *,
    now: Callable[[], datetime],
    deadline_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    redactor: RedactingFilter | None = None,
    keep_state: bool = True,
) -> ExtractReport:
    """Extract ``settings``' playlists into ``lake``: objects under ``raw/``, state under ``_state/extract/``.

    Args:
        settings: what to fetch, and how.
        lake: the local lake.
        now: the clock (``extracted_at``, the ``ingest_date`` partition, the artist cache's age).
        deadline_seconds: the run's budget from now (a local stand-in for the Lambda's remaining time).
        sleep: how to wait between retries.
        redactor: the log filter a rotated refresh token joins.
        keep_state: False: no artist cache (every artist fetched).

    Returns:
        The report; a store that cannot take a rotated refresh token fails every playlist (permanently)
        before anything is requested.
    """
    tokens = LocalTokenStore(lake.extract_state, redactor)
    refusal = tokens.check() if settings.refresh_token else None
    if refusal is not None:
        return ExtractReport(
            failed=[FailedPlaylist(p, TOKEN_NOT_STORED, refusal) for p in settings.playlist_ids]
        )
    report = extract_playlists(
        settings,
        LocalLander(lake.raw),
        now=now,
        deadline=time.monotonic() + deadline_seconds,
        sleep=sleep,
        state=LocalStateStore(lake.extract_state) if keep_state else None,
        on_token_rotated=tokens,
    )
    refused = any(f.reason == "unauthorized" and "invalid_grant" in f.message for f in report.failed)
    if (warning := tokens.warning(settings.refresh_token, refused)) is not None:
        report.warnings.append(warning)
    return report
