"""The account-level preconditions of the template, checked by ``make deploy`` before it uploads or creates anything.

Each check reads one documented API and, when the deploy would fail, gives one line saying what and how to fix it
(docs/deploy.md, "Account preconditions"):

- credentials answer (``sts get-caller-identity``);
- the assets bucket exists and these credentials reach it (``s3 head-bucket``);
- the stack is not stuck: ``ROLLBACK_COMPLETE`` (a failed first create) can only be deleted, and an
  ``*_IN_PROGRESS`` stack refuses another update
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed);
- on a first create, the names the template fixes are free in the account and region: the secret
  ``<stack>/spotify`` (``make destroy`` retains it, with the refresh token), the Glue database, the Athena workgroup;
- a reserved concurrency for the extract Lambda (``ExtractReservedConcurrency``) leaves the account at least 100
  unreserved executions, which Lambda requires ("You can reserve up to the Unreserved account concurrency value
  that is shown, minus 100", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html);
  read from ``lambda get-account-settings`` (``AccountLimit.UnreservedConcurrentExecutions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

UNRESERVED_MINIMUM = 100  # Lambda's documented floor of unreserved concurrency
STUCK_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")


class PreflightError(RuntimeError):
    """A precondition does not hold; the message is one line naming it and the fix."""


@dataclass(frozen=True)
class Preflight:
    """What the checks need to know of the deploy."""

    stack: str
    assets_bucket: str
    database: str
    reserved_concurrency: int = 0


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def check_identity(session: Any, plan: Preflight) -> str:
    identity = session.client("sts").get_caller_identity()
    return f"credentials: account {identity['Account']} ({identity['Arn']})"


def check_assets_bucket(session: Any, plan: Preflight) -> str:
    try:
        session.client("s3").head_bucket(Bucket=plan.assets_bucket)
    except ClientError as error:
        raise PreflightError(
            f"the assets bucket {plan.assets_bucket} cannot be reached ({_code(error)}): create it in this region "
            f"(aws s3 mb s3://{plan.assets_bucket}) or give credentials that can read and write it"
        ) from error
    return f"assets bucket: {plan.assets_bucket} reachable"


def stack_status(session: Any, stack: str) -> str | None:
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if _code(error) == "ValidationError":  # "Stack with id ... does not exist"
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def check_stack_state(session: Any, plan: Preflight) -> str:
    status = stack_status(session, plan.stack)
    if status in STUCK_STATES:
        raise PreflightError(
            f"stack {plan.stack} is {status} and cannot be updated: delete it (make destroy STACK={plan.stack}), "
            "then deploy again"
        )
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise PreflightError(f"stack {plan.stack} is {status}: wait until it ends, then deploy again")
    return f"stack: {plan.stack} {status or 'new (will be created)'}"


def _exists(call: Callable[[], Any], missing: str) -> bool:
    try:
        call()
    except ClientError as error:
        if _code(error) == missing:
            return False
        raise
    return True


def check_fixed_names_free(session: Any, plan: Preflight) -> str:
    """On a first create only: the template names these, so a leftover of the same name fails the create."""
    if stack_status(session, plan.stack) is not None:
        return "names: kept by the existing stack"
    secret = f"{plan.stack}/spotify"
    taken = [
        (f"secret {secret} (kept by an earlier make destroy; it may hold your refresh token: copy its value, then "
         f"aws secretsmanager delete-secret --secret-id {secret})")
        if _exists(lambda: session.client("secretsmanager").describe_secret(SecretId=secret),
                   "ResourceNotFoundException") else "",
        (f"Glue database {plan.database} (another stack's or a leftover: DATABASE=<another name>)")
        if _exists(lambda: session.client("glue").get_database(Name=plan.database), "EntityNotFoundException")
        else "",
        f"Athena workgroup {plan.stack} (another stack name, or delete it)"
        if _exists(lambda: session.client("athena").get_work_group(WorkGroup=plan.stack), "InvalidRequestException")
        else "",
    ]  # fmt: skip
    taken = [name for name in taken if name]
    if taken:
        raise PreflightError(f"the new stack {plan.stack} would collide with: " + "; ".join(taken))
    return f"names: secret {secret}, database {plan.database}, workgroup {plan.stack} are free"


def check_lambda_concurrency(session: Any, plan: Preflight) -> str:
    unreserved = int(
        session.client("lambda").get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    )
    if plan.reserved_concurrency and unreserved - plan.reserved_concurrency < UNRESERVED_MINIMUM:
        raise PreflightError(
            f"ExtractReservedConcurrency={plan.reserved_concurrency} would leave {unreserved - plan.reserved_concurrency}"
            f" unreserved Lambda executions, and Lambda keeps at least {UNRESERVED_MINIMUM}: deploy with "
            "ExtractReservedConcurrency=0 or raise the account's concurrency quota (docs/deploy.md)"
        )
    return f"lambda: {unreserved} unreserved executions, reserving {plan.reserved_concurrency}"


CHECKS = (
    check_identity,
    check_assets_bucket,
    check_stack_state,
    check_fixed_names_free,
    check_lambda_concurrency,
)


def run_preflight(session: Any, plan: Preflight) -> list[str]:
    """Run every check in order; the lines of the checks that passed.

    Raises:
        PreflightError: the first precondition that does not hold (nothing has been created yet).
    """
    passed = []
    for check in CHECKS:
        try:
            passed.append(check(session, plan))
        except ClientError as error:
            raise PreflightError(f"{check.__name__.removeprefix('check_')}: {_code(error)}: "
                                 f"{error.response.get('Error', {}).get('Message', '')}") from error  # fmt: skip
        except BotoCoreError as error:
            raise PreflightError(f"{check.__name__.removeprefix('check_')}: {error}") from error
    return passed
