"""``make deploy``'s account preconditions, against botocore's Stubber: each check reads the API AWS documents for
it, passes on an account that can take the stack, and stops a deploy that would fail with one line."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.scripts import deploy
from infra.scripts.preflight import Preflight, PreflightError, run_preflight

SERVICES = ("sts", "s3", "cloudformation", "secretsmanager", "glue", "athena", "lambda")


class StubbedSession:
    """A boto3 session whose clients are stubbed (no network, no credentials needed)."""

    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(
                name, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            for name in SERVICES
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str, **_kwargs: Any) -> Any:
        return self.clients[name]

    def assert_all_used(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def _new_account(session: StubbedSession, unreserved: int, *, secret_kept: bool = False) -> None:
    st = session.stubs
    st["sts"].add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ops", "UserId": "AIDA"},
    )
    st["s3"].add_response("head_bucket", {}, {"Bucket": "my-assets"})
    for _ in range(2):  # the stack state, then the names check: the stack does not exist yet
        st["cloudformation"].add_client_error(
            "describe_stacks",
            "ValidationError",
            "Stack with id lake does not exist",
            expected_params={"StackName": "lake"},
        )
    if secret_kept:
        st["secretsmanager"].add_response(
            "describe_secret", {"Name": "lake/spotify"}, {"SecretId": "lake/spotify"}
        )
    else:
        st["secretsmanager"].add_client_error(
            "describe_secret", "ResourceNotFoundException", "no such secret"
        )
    st["glue"].add_client_error("get_database", "EntityNotFoundException", "no such database")
    st["athena"].add_client_error("get_work_group", "InvalidRequestException", "WorkGroup lake is not found.")
    st["lambda"].add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": unreserved, "UnreservedConcurrentExecutions": unreserved}},
    )


def test_a_new_account_with_a_small_quota_passes_without_a_reservation():
    session = StubbedSession()
    _new_account(session, unreserved=10)

    lines = run_preflight(session, Preflight("lake", "my-assets", "spotify_lake", reserved_concurrency=0))

    assert lines == [
        "credentials: account 123456789012 (arn:aws:iam::123456789012:user/ops)",
        "assets bucket: my-assets reachable",
        "stack: lake new (will be created)",
        "names: secret lake/spotify, database spotify_lake, workgroup lake are free",
        "lambda: 10 unreserved executions, reserving 0",
    ]
    session.assert_all_used()


def test_a_reservation_the_quota_cannot_take_stops_the_deploy_in_one_line():
    session = StubbedSession()
    _new_account(session, unreserved=10)

    with pytest.raises(PreflightError) as raised:
        run_preflight(session, Preflight("lake", "my-assets", "spotify_lake", reserved_concurrency=1))

    assert str(raised.value) == (
        "ExtractReservedConcurrency=1 would leave 9 unreserved Lambda executions, and Lambda keeps at least 100: "
        "deploy with ExtractReservedConcurrency=0 or raise the account's concurrency quota (docs/deploy.md)"
    )


def test_a_secret_kept_by_an_earlier_destroy_is_named_before_anything_is_created():
    session = StubbedSession()
    _new_account(session, unreserved=1000, secret_kept=True)

    with pytest.raises(
        PreflightError, match=r"^the new stack lake would collide with: secret lake/spotify \(kept"
    ):
        run_preflight(session, Preflight("lake", "my-assets", "spotify_lake"))


def test_a_stack_left_in_rollback_complete_must_be_deleted_first():
    session = StubbedSession()
    session.stubs["sts"].add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ops", "UserId": "AIDA"},
    )
    session.stubs["s3"].add_response("head_bucket", {}, {"Bucket": "my-assets"})
    session.stubs["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "lake",
                    "StackStatus": "ROLLBACK_COMPLETE",
                    "CreationTime": "2026-12-01T00:00:00Z",
                }
            ]
        },
    )

    with pytest.raises(
        PreflightError, match=r"^stack lake is ROLLBACK_COMPLETE and cannot be updated: delete it"
    ):
        run_preflight(session, Preflight("lake", "my-assets", "spotify_lake"))


def test_deploy_runs_the_preflight_before_any_upload(tmp_path, monkeypatch, capsys):
    """A failing precondition: one line, exit 1, and not one AWS CLI command ran."""
    (tmp_path / "glue").mkdir()
    (tmp_path / "glue" / "spotify_etl_glue-abc.zip").write_bytes(b"zip")
    ran: list[list[str]] = []
    monkeypatch.setattr(deploy, "_run", lambda command: ran.append(command) or "")
    monkeypatch.setattr(deploy.shutil, "which", lambda _name: "/usr/bin/aws")
    session = StubbedSession()
    _new_account(session, unreserved=50)
    config = deploy.DeployConfig(
        stack="lake", assets_bucket="my-assets", build_dir=tmp_path,
        parameters={"ExtractReservedConcurrency": "1"},
    )  # fmt: skip

    with pytest.raises(deploy.DeployError, match=r"^preflight: ExtractReservedConcurrency=1 would leave 49"):
        deploy.deploy(config, dry_run=False, views_only=False, session=session)
    assert ran == []
