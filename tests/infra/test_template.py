"""The CloudFormation template tied to the code: names, paths and arguments come from the code, not copies."""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from infra.scripts import catalog_tables
from infra.scripts import package as packaging
from spotify_etl import cfn_template
from spotify_etl.aws_twin.crawler_spec import crawler_spec
from spotify_etl.cfn_template import resources_of_type
from spotify_etl.config import BOOKMARK_OPTIONS, JOB_ARGS, OPTIONAL_JOB_ARGS, TransformConfig
from spotify_etl.lake import table_symlinks
from spotify_etl.quality.results import RESULTS_TABLE
from spotify_etl.transform.glue_types import declared_columns
from spotify_etl.transform.registry import CURATED, CURATED_TABLES
from tests.infra.conftest import FAKE_NAMES, fake_sub

# Glue's own job parameters (documented "special parameters"); everything else is an argument of our job.
GLUE_SPECIAL_PARAMETERS = frozenset(
    {
        "job-bookmark-option",
        "extra-py-files",
        "job-language",
        "TempDir",
        "enable-metrics",
        "enable-observability-metrics",
        "enable-spark-ui",
        "spark-event-logs-path",
        "custom-logGroup-prefix",
    }
)


def _props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id]["Properties"]


def test_the_template_reads_the_same_with_libyaml_and_with_pyyamls_own_parser() -> None:
    # parse_template uses libyaml's parser when PyYAML has it (faster); PyYAML's pure-Python one is the reference
    class PurePythonLoader(yaml.SafeLoader):
        pass

    PurePythonLoader.add_multi_constructor("!", cfn_template._long_form)
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml: parse_template uses the pure-Python parser")
    text = cfn_template.DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    assert issubclass(cfn_template._CfnLoader, yaml.CSafeLoader)
    assert cfn_template.parse_template(text) == yaml.load(text, Loader=PurePythonLoader)
    with pytest.raises(cfn_template.TemplateError, match=r"(?s)^t\.yaml is not valid YAML: .*line 2"):
        cfn_template.parse_template("Resources:\n  a: [1, 2\n", "t.yaml")


# ---------------------------------------------------------------- extract Lambda


def test_lambda_handler_path_resolves_to_the_extract_handler(resources):
    function = _props(resources, "ExtractFunction")
    module_name, _, attribute = function["Handler"].rpartition(".")

    module = importlib.import_module(module_name)

    assert module_name.split(".")[0] == packaging.LAMBDA_PACKAGE
    assert callable(getattr(module, attribute))


def test_lambda_runtime_and_architecture_parameter_match_the_packaged_wheels(template, resources):
    from infra.scripts.locked import LAMBDA_ARCHITECTURES, LAMBDA_RUNTIME, LambdaRuntime

    function = _props(resources, "ExtractFunction")
    parameter = template["Parameters"]["LambdaArchitecture"]

    assert function["Runtime"] == LAMBDA_RUNTIME.runtime == "python3.13"  # Amazon Linux 2023
    assert function["Architectures"] == [{"Ref": "LambdaArchitecture"}]
    assert parameter["AllowedValues"] == list(LAMBDA_ARCHITECTURES) == ["x86_64", "arm64"]
    assert parameter["Default"] == LAMBDA_RUNTIME.architecture
    assert [LambdaRuntime(architecture=a).uv_platform for a in parameter["AllowedValues"]] == [
        "x86_64-manylinux_2_34",
        "aarch64-manylinux_2_34",
    ]


def test_lambda_environment_names_equal_the_handlers_and_required_ones_are_set(resources):
    from extract_lambda.handler import DEFAULTS, ENV_VARS, REQUIRED_ENV_VARS

    variables = _props(resources, "ExtractFunction")["Environment"]["Variables"]

    assert set(variables) == set(ENV_VARS)
    assert all(variables[name] for name in REQUIRED_ENV_VARS)
    literal = {name: value for name, value in variables.items() if isinstance(value, str)}
    assert literal == {name: DEFAULTS[name] for name in literal}
    assert variables["RAW_BUCKET"] == {"Ref": "DataBucket"}
    assert variables["SPOTIFY_SECRET_ARN"] == {"Ref": "SpotifySecret"}


def test_lambda_runs_alone_on_a_schedule_and_each_failed_event_reaches_the_queue_once(template, resources):
    function = _props(resources, "ExtractFunction")
    rules = resources_of_type({"Resources": resources}, "AWS::Events::Rule")
    schedules = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    permissions = resources_of_type({"Resources": resources}, "AWS::Lambda::Permission")
    invoke_config = resources["ExtractInvokeConfig"]["Properties"]

    # No hard-coded reservation (a new account's quota refuses it); ExtractReservedConcurrency=1 sets it.
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "ReserveExtractConcurrency",
            {"Ref": "ExtractReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    parameter = template["Parameters"]["ExtractReservedConcurrency"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (0, 0, 1)
    assert [t["Arn"] for r in schedules for t in r["Properties"]["Targets"]] == [
        {"Fn::GetAtt": ["ExtractFunction", "Arn"]}
    ]
    assert [p["Properties"]["Principal"] for p in permissions.values()] == ["events.amazonaws.com"]
    # one target for failed events: the on-failure destination, and no DeadLetterConfig besides it
    # (with both, each failed event would land in the queue twice)
    assert "DeadLetterConfig" not in function
    assert invoke_config["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["ExtractDeadLetterQueue", "Arn"]}}
    }
    assert invoke_config["MaximumRetryAttempts"] == 1


def test_extract_role_writes_only_its_own_secret_and_its_state_prefix(resources):
    role = [s for name, s in _allow_statements(resources) if name == "ExtractRole"]
    by_action = {a: s for s in role for a in _as_list(s["Action"])}

    assert by_action["secretsmanager:PutSecretValue"]["Resource"] == {"Ref": "SpotifySecret"}
    assert by_action["s3:GetObject"]["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/_state/extract/*"}
    assert [s["Resource"] for s in role if "s3:PutObject" in _as_list(s["Action"])] == [
        {"Fn::Sub": "${DataBucket.Arn}/raw/*"},
        {"Fn::Sub": "${DataBucket.Arn}/_state/extract/*"},
    ]
    assert "s3:ListBucket" not in by_action


def test_transform_alarms_watch_the_metrics_the_job_publishes(resources):
    """The quarantine alarm fires on one quarantined object; freshness fires after 26 hours without a success."""
    from spotify_etl.runtime.run_metrics import metric_data
    from spotify_etl.transform.summary import RunSummary

    namespace = _props(resources, "TransformJob")["DefaultArguments"]["--metrics_namespace"]
    published = {
        m["MetricName"]: m
        for m in metric_data(RunSummary(rejected={"not_gzip": 1}), "lake-stack-transform-playlists")
    }
    quarantine = _props(resources, "TransformQuarantineAlarm")
    freshness = _props(resources, "TransformFreshnessAlarm")
    for alarm in (quarantine, freshness):
        assert alarm["Namespace"] == namespace
        assert alarm["Dimensions"] == [{"Name": "JobName", "Value": {"Ref": "TransformJob"}}]
        assert published[alarm["MetricName"]]["Dimensions"][0]["Name"] == "JobName"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert published[quarantine["MetricName"]]["Value"] >= quarantine["Threshold"]
    assert quarantine["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert freshness["Period"] * freshness["DatapointsToAlarm"] == 26 * 3600
    assert (freshness["TreatMissingData"], freshness["ComparisonOperator"]) == (
        "breaching",
        "LessThanThreshold",
    )
    assert published[freshness["MetricName"]]["Value"] >= freshness["Threshold"]


def test_data_quality_alarm_fires_on_one_failed_error_rule(resources):
    """The gate's metric (published by a stopped run and by one that landed anyway) reaches the alarm."""
    from spotify_etl.runtime.run_metrics import quality_metric_data

    namespace = _props(resources, "TransformJob")["DefaultArguments"]["--metrics_namespace"]
    alarm = _props(resources, "TransformDataQualityAlarm")
    failed = {"rules": 53, "passed": 52, "error_failed": 1, "warn_failed": 0}
    published = {m["MetricName"]: m for m in quality_metric_data(failed, "job")}
    clean = {m["MetricName"]: m for m in quality_metric_data({**failed, "error_failed": 0}, "job")}

    assert (alarm["Namespace"], alarm["AlarmActions"]) == (namespace, [{"Ref": "AlarmTopic"}])
    assert alarm["Dimensions"] == [{"Name": "JobName", "Value": {"Ref": "TransformJob"}}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert published[alarm["MetricName"]]["Value"] >= alarm["Threshold"]
    assert clean[alarm["MetricName"]]["Value"] < alarm["Threshold"]


def test_permanent_failures_alarm_watches_the_metric_the_handler_emits(resources):
    from extract_lambda.report import ExtractReport, FailedPlaylist, metric_documents

    variables = _props(resources, "ExtractFunction")["Environment"]["Variables"]
    alarm = _props(resources, "ExtractPermanentFailuresAlarm")
    report = ExtractReport(failed=[FailedPlaylist("p", "not_found", "gone")])
    [totals, _] = metric_documents(report, "ns")

    assert alarm["Namespace"] == variables["METRICS_NAMESPACE"]
    assert alarm["MetricName"] in totals and totals[alarm["MetricName"]] == 1
    assert "Dimensions" not in alarm and totals["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_refresh_token_not_stored_alarm_watches_the_metric_the_handler_emits(resources):
    from extract_lambda.report import ExtractReport, FailedPlaylist, metric_documents

    variables = _props(resources, "ExtractFunction")["Environment"]["Variables"]
    alarm = _props(resources, "ExtractRefreshTokenNotStoredAlarm")
    failed = [FailedPlaylist(p, "token_not_stored", "PutSecretValue failed") for p in ("p", "q")]
    [totals, _] = metric_documents(ExtractReport(failed=failed), "ns")
    [quiet, *_] = metric_documents(ExtractReport(failed=[FailedPlaylist("p", "not_found", "gone")]), "ns")

    assert alarm["Namespace"] == variables["METRICS_NAMESPACE"]
    assert totals[alarm["MetricName"]] == 1 >= alarm["Threshold"] > quiet[alarm["MetricName"]] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "Dimensions" not in alarm and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_raw_events_rule_matches_the_keys_the_lambda_lands(resources):
    from extract_lambda.handler import DEFAULTS
    from extract_lambda.landing import raw_key

    key = f"{DEFAULTS['RAW_PREFIX']}/" + raw_key(
        "37i9dQZEVXbMDoHDwVN2tF", datetime(2026, 11, 22, 3, tzinfo=UTC), "s"
    )
    pattern = _props(resources, "RawArrivedRule")["EventPattern"]
    (prefix_filter,) = pattern["detail"]["object"]["key"]

    assert pattern["detail-type"] == ["Object Created"]
    assert key.startswith(prefix_filter["prefix"])
    assert not ("quarantine/x.parquet".startswith(prefix_filter["prefix"]))
    assert _props(resources, "DataBucket")["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


# ---------------------------------------------------------------- Glue job


def test_job_script_is_the_packaged_glue_entry_script(resources, rendered, artifacts):
    source_location = fake_sub(_props(resources, "TransformJob")["Command"]["ScriptLocation"], FAKE_NAMES)
    rendered_location = _props(rendered["Resources"], "TransformJob")["Command"]["ScriptLocation"]

    assert source_location.endswith("/" + packaging.GLUE_SCRIPT.name)
    assert (
        packaging.GLUE_SCRIPT.relative_to(packaging.REPO_ROOT).as_posix()
        == "glue_jobs/transform_playlists.py"
    )
    assert (artifacts.template.parent / rendered_location).read_bytes() == packaging.GLUE_SCRIPT.read_bytes()
    assert "run_glue_job" in packaging.GLUE_SCRIPT.read_text()


def test_job_arguments_are_exactly_the_jobs_required_arguments(resources):
    arguments = _props(resources, "TransformJob")["DefaultArguments"]
    ours = {name[2:] for name in arguments} - GLUE_SPECIAL_PARAMETERS

    assert all(name.startswith("--") for name in arguments)
    assert ours - set(OPTIONAL_JOB_ARGS) == set(JOB_ARGS) - {"JOB_NAME"}
    assert arguments["--job-bookmark-option"] == "job-bookmark-enable"
    assert arguments["--job-bookmark-option"] in BOOKMARK_OPTIONS


def test_job_arguments_parse_into_the_expected_config(resources):
    """Glue's argv (job name + DefaultArguments) through the job's own parser gives the lake's layout."""
    from spotify_etl.runtime.glue import config_from_args, resolve_args

    arguments = _props(resources, "TransformJob")["DefaultArguments"]
    argv = ["transform_playlists.py", "--JOB_NAME", "lake-stack-transform-playlists"]
    for name, value in arguments.items():
        argv += [name, fake_sub(value, FAKE_NAMES)]

    config = config_from_args(resolve_args(argv))

    assert config == TransformConfig(
        job_name="lake-stack-transform-playlists",
        raw_path="s3://lake-data-bucket/raw",
        curated_path="s3://lake-data-bucket/curated",
        quarantine_path="s3://lake-data-bucket/quarantine",
        staging_path="s3://lake-data-bucket/_staging/transform",
        bookmark_option="job-bookmark-enable",
        metrics_namespace="lake-stack/transform",
        metrics_region="eu-west-1",  # the stack's own region, never boto3's default
    )


def test_job_is_glue_5_or_6_with_bookmarks_flex_option_and_one_run_at_a_time(template, resources):
    from infra.scripts.package import DEFAULT_GLUE_VERSION, GLUE_VERSIONS

    job = _props(resources, "TransformJob")
    parameters = template["Parameters"]

    assert job["GlueVersion"] == {"Ref": "GlueVersion"}
    assert parameters["GlueVersion"]["AllowedValues"] == list(GLUE_VERSIONS) == ["5.0", "6.0"]
    assert parameters["GlueVersion"]["Default"] == DEFAULT_GLUE_VERSION == "5.0"
    assert job["WorkerType"] == "G.1X"
    assert parameters[job["NumberOfWorkers"]["Ref"]]["Default"] == 2
    assert set(parameters[job["ExecutionClass"]["Ref"]]["AllowedValues"]) == {"STANDARD", "FLEX"}
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["SecurityConfiguration"] == {"Ref": "GlueSecurityConfiguration"}
    assert job["DefaultArguments"]["--enable-metrics"] == "true"
    assert job["DefaultArguments"]["--enable-observability-metrics"] == "true"


def test_tables_read_partitions_through_manifests_and_the_job_retries_once(resources):
    """docs/design.md I5: each partition's location holds one manifest the swap replaces in one PUT, so the
    writes are idempotent and a failed run may be retried."""
    from spotify_etl.aws_twin.symlink_tables import SYMLINK_INPUT_FORMAT

    for curated in CURATED:
        table = curated.name
        storage = _props(resources, curated.catalog.logical_id)["TableInput"]["StorageDescriptor"]
        assert storage["InputFormat"] == SYMLINK_INPUT_FORMAT
        assert storage["SerdeInfo"]["SerializationLibrary"] == catalog_tables.PARQUET_SERDE
        assert storage["Location"] == {"Fn::Sub": f"s3://${{DataBucket}}/curated/symlinks/{table}/"}
    assert _props(resources, "TransformJob")["MaxRetries"] == 1


def test_glue_security_configuration_encrypts_s3_logs_and_bookmarks(resources):
    encryption = _props(resources, "GlueSecurityConfiguration")["EncryptionConfiguration"]

    assert [e["S3EncryptionMode"] for e in encryption["S3Encryptions"]] == ["SSE-KMS"]
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


# ---------------------------------------------------------------- workflow and crawler


def _workflow_graph(resources: dict[str, Any]) -> tuple[str, dict[str, set[str]]]:
    """(start trigger, edges) of the one workflow: trigger -> action, job -> conditional trigger."""
    workflows = resources_of_type({"Resources": resources}, "AWS::Glue::Workflow")
    assert len(workflows) == 1, f"expected one workflow, found {sorted(workflows)}"
    (workflow,) = workflows
    triggers = {
        name: r["Properties"]
        for name, r in resources_of_type({"Resources": resources}, "AWS::Glue::Trigger").items()
        if r["Properties"].get("WorkflowName") == {"Ref": workflow}
    }
    starts = [name for name, t in triggers.items() if t["Type"] in ("EVENT", "SCHEDULED", "ON_DEMAND")]
    assert len(starts) == 1, f"expected one start trigger, found {starts}"
    edges: dict[str, set[str]] = {}
    for name, trigger in triggers.items():
        for action in trigger["Actions"]:
            (target,) = [v["Ref"] for k, v in action.items() if k in ("JobName", "CrawlerName")]
            edges.setdefault(name, set()).add(target)
        if trigger["Type"] == "CONDITIONAL":
            for condition in trigger["Predicate"]["Conditions"]:
                assert condition["State"] == "SUCCEEDED" and condition["LogicalOperator"] == "EQUALS"
                edges.setdefault(condition["JobName"]["Ref"], set()).add(name)
    return starts[0], edges


def test_workflow_is_connected_acyclic_and_ends_at_the_crawler(resources):
    start, edges = _workflow_graph(resources)
    nodes = set(edges) | {n for targets in edges.values() for n in targets}

    order: list[str] = []
    visiting: set[str] = set()

    def visit(node: str) -> None:
        assert node not in visiting, f"cycle through {node}"
        if node in order:
            return
        visiting.add(node)
        for child in sorted(edges.get(node, ())):
            visit(child)
        visiting.discard(node)
        order.append(node)

    visit(start)
    sinks = {n for n in nodes if not edges.get(n)}

    assert set(order) == nodes  # everything reachable from the start trigger
    assert sinks == {"CuratedCrawler"}
    assert resources["CuratedCrawler"]["Type"] == "AWS::Glue::Crawler"
    assert edges[start] == {"TransformJob"}
    assert _props(resources, start)["Type"] == "EVENT"
    assert _props(resources, start)["EventBatchingCondition"]["BatchSize"] == {"Ref": "EventBatchSize"}


def test_workflow_graph_check_catches_a_cycle(resources):
    """The graph check can fail: a trigger that restarts the job after the crawler is a cycle."""
    broken = json.loads(json.dumps(resources))
    broken["CrawlAfterTransformTrigger"]["Properties"]["Actions"].append({"JobName": {"Ref": "TransformJob"}})

    with pytest.raises(AssertionError, match="cycle"):
        test_workflow_is_connected_acyclic_and_ends_at_the_crawler(broken)


def test_crawler_adds_partitions_to_the_six_declared_tables_at_curated_table(resources, template):
    """Judged by AWS's rules (spotify_etl.aws_twin.crawler_spec checks them): catalog targets naming the declared
    tables, partitioned by snapshot_date, whose partitions' manifests sit at <curated_path>/symlinks/<table>/
    (the swap writes them, spotify_etl.lake.table_symlinks); data_quality_results, a plain Parquet table at
    <curated_path>/data_quality_results/ by evaluated_date; nothing else is created or changed."""
    spec = crawler_spec(template, "CuratedCrawler")
    curated = fake_sub(_props(resources, "TransformJob")["DefaultArguments"]["--curated_path"], FAKE_NAMES)

    assert spec.s3_targets == ()
    assert sorted(t.name for t in spec.catalog_tables) == sorted((*CURATED_TABLES, RESULTS_TABLE))
    for table in spec.catalog_tables:
        results = table.name == RESULTS_TABLE
        location = f"{curated}/{table.name}" if results else table_symlinks(curated, table.name)
        assert f"s3://lake-data-bucket/{table.location_key}" == location + "/"
        assert table.symlink is not results
        key = "evaluated_date" if table.name == RESULTS_TABLE else "snapshot_date"
        assert table.partition_keys == ((key, "string"),)
    assert (spec.update_behavior, spec.partitions_inherit_from_table) == ("LOG", True)
    assert _props(resources, "CuratedCrawler")["Targets"]["CatalogTargets"][0]["DatabaseName"] == {
        "Ref": "GlueDatabase"
    }
    granted = {
        a
        for s in _props(resources, "CrawlerRole")["Policies"][0]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not granted & {"glue:CreateTable", "glue:DeleteTable", "glue:DeletePartition", "glue:*"}


def test_crawler_may_update_the_declared_tables_and_no_other(resources):
    """AWS documents AWSGlueServiceRole (glue:*) or a scoped-down version for a crawler's role
    (https://docs.aws.amazon.com/glue/latest/dg/crawler-prereqs.html): the catalog writes of a catalog-target
    crawler (UpdateTable, partitions) are granted on the six declared tables only."""
    statements = {
        s["Sid"]: s for s in _props(resources, "CrawlerRole")["Policies"][0]["PolicyDocument"]["Statement"]
    }
    writes = statements["MaintainDeclaredTables"]
    tables = [fake_sub(r, {**FAKE_NAMES, "DatabaseName": "lake"}) for r in writes["Resource"]]

    assert {"glue:UpdateTable", "glue:BatchCreatePartition", "glue:UpdatePartition"} <= set(writes["Action"])
    assert tables == [
        "arn:aws:glue:eu-west-1:123456789012:catalog",
        "arn:aws:glue:eu-west-1:123456789012:database/lake",
        *(f"arn:aws:glue:eu-west-1:123456789012:table/lake/{t}" for t in CURATED_TABLES),
    ]
    assert set(statements["ReadLakeDatabase"]["Action"]) == {
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetTables",
    }


def test_only_the_extract_role_and_listed_principals_write_raw(resources):
    policy = _props(resources, "DataBucketPolicy")["PolicyDocument"]["Statement"]
    deny = next(s for s in policy if s["Sid"] == "OnlyTheExtractWritesRaw")

    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:PutObject")
    assert deny["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/raw/*"}
    writers = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::If"]
    assert writers[0] == "HasRawWriters"
    assert writers[2] == [{"Fn::GetAtt": ["ExtractRole", "Arn"]}]
    assert {"Fn::GetAtt": ["ExtractRole", "Arn"]} in writers[1]["Fn::Split"][1]["Fn::Join"][1]


def test_destroy_keeps_the_lakes_policy_and_the_secret(resources):
    for name in ("DataBucket", "DataBucketPolicy", "SpotifySecret", "LakeKey"):
        assert (resources[name]["DeletionPolicy"], resources[name]["UpdateReplacePolicy"]) == (
            "Retain",
            "Retain",
        )


def test_services_use_the_lake_key_only_for_this_account(resources):
    statements = _props(resources, "LakeKey")["KeyPolicy"]["Statement"]
    publishers = next(s for s in statements if s["Sid"] == "AlarmPublishersUseTheEncryptedTopic")

    assert publishers["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_declared_tables_are_parquet_and_their_columns_are_the_transforms_schema(resources):
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for r in resources_of_type({"Resources": resources}, "AWS::Glue::Table").values()
    }
    assert sorted(tables) == sorted((*CURATED_TABLES, RESULTS_TABLE))
    for name, table_input in tables.items():
        storage = table_input["StorageDescriptor"]
        assert (
            storage["SerdeInfo"]["SerializationLibrary"]
            == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        )
        expected = catalog_tables.results_columns() if name == RESULTS_TABLE else declared_columns(name)
        assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == expected
    assert catalog_tables.results_columns() == [
        ("run_id", "string"),
        ("evaluated_by", "string"),
        ("table_name", "string"),
        ("rule", "string"),
        ("rule_line", "string"),
        ("severity", "string"),
        ("outcome", "string"),
        ("observed", "double"),
        ("message", "string"),
        ("evaluated_at", "timestamp"),
    ]


def test_the_table_block_of_the_template_is_what_the_generator_renders(tmp_path, repo_root):
    template_path = repo_root / "infra" / "cloudformation" / "template.yaml"
    assert catalog_tables.current_block(template_path.read_text()) == catalog_tables.render_block()

    drifted = tmp_path / "template.yaml"
    drifted.write_text(template_path.read_text().replace("Type: timestamp", "Type: string", 1))
    assert catalog_tables.main(["--template", str(drifted), "--check"]) == 1
    assert catalog_tables.main(["--template", str(drifted)]) == 0
    assert drifted.read_text() == template_path.read_text()


# ---------------------------------------------------------------- storage


def _buckets(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: r["Properties"] for n, r in resources_of_type({"Resources": resources}, "AWS::S3::Bucket").items()
    }


def test_every_bucket_is_encrypted_private_and_tls_only(resources):
    policies = {
        r["Properties"]["Bucket"]["Ref"]: r["Properties"]["PolicyDocument"]
        for r in resources_of_type({"Resources": resources}, "AWS::S3::BucketPolicy").values()
    }

    for name, bucket in _buckets(resources).items():
        (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256"), name
        assert bucket["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        deny_insecure = [
            s
            for s in policies[name]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(deny_insecure) == 1, name
        assert deny_insecure[0]["Resource"] == [
            {"Fn::GetAtt": [name, "Arn"]},
            {"Fn::Sub": f"${{{name}.Arn}}/*"},
        ], name


def test_raw_is_versioned_and_moves_to_infrequent_access_and_results_expire(resources):
    buckets = _buckets(resources)
    data_rules = {r["Id"]: r for r in buckets["DataBucket"]["LifecycleConfiguration"]["Rules"]}
    (results_rule,) = buckets["AthenaResultsBucket"]["LifecycleConfiguration"]["Rules"]

    assert buckets["DataBucket"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert data_rules["raw-to-infrequent-access"]["Prefix"] == "raw/"
    assert data_rules["raw-to-infrequent-access"]["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": {"Ref": "RawInfrequentAccessDays"}}
    ]
    assert results_rule["ExpirationInDays"] == {"Ref": "AthenaResultsExpirationDays"}


def test_secret_value_is_never_in_the_template(template, resources):
    secret = _props(resources, "SpotifySecret")

    assert "SecretString" not in secret
    assert "GenerateSecretString" not in secret
    assert not [p for p in template["Parameters"] if re.search(r"secret|token|password", p, re.IGNORECASE)]


# ---------------------------------------------------------------- IAM


def _allow_statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in properties:
                documents.append(properties[key])
        for document in documents:
            found += [(name, s) for s in document["Statement"] if s["Effect"] == "Allow"]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_policy_allows_a_wildcard_action(resources):
    statements = _allow_statements(resources)
    wildcards = [(name, a) for name, s in statements for a in _as_list(s["Action"]) if "*" in a]

    assert len(statements) > 20
    assert wildcards == []


def test_only_unscopable_actions_use_a_wildcard_resource(resources):
    """X-Ray and PutMetricData have no resource-level permissions; KMS key policies always name "*" (this key)."""
    unscoped = {
        (name, tuple(_as_list(s["Action"])))
        for name, s in _allow_statements(resources)
        if "*" in _as_list(s["Resource"]) and resources[name]["Type"] != "AWS::KMS::Key"
    }

    assert unscoped == {
        ("ExtractRole", ("xray:PutTraceSegments", "xray:PutTelemetryRecords")),
        ("TransformRole", ("cloudwatch:PutMetricData",)),
    }
    (metrics,) = [
        s for name, s in _allow_statements(resources) if _as_list(s["Action"]) == ["cloudwatch:PutMetricData"]
    ]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": ["Glue", {"Fn::Sub": "${AWS::StackName}/transform"}]}
    }


_S3_OBJECT_ARN = re.compile(
    r"^(\$\{DataBucket\.Arn\}|arn:\$\{AWS::Partition\}:s3:::\$\{AssetsBucket\})/(?P<prefix>[^*]+)/\*$"
)


def _s3_grants(resources: dict[str, Any], role: str) -> dict[str, set[str]]:
    """S3 action -> object prefixes (``raw/``) or listed prefixes (``list:raw/*``) granted to one role."""
    grants: dict[str, set[str]] = {}
    for name, statement in _allow_statements(resources):
        if name != role:
            continue
        for action in _as_list(statement["Action"]):
            if not action.startswith("s3:"):
                continue
            for resource in _as_list(statement["Resource"]):
                if action == "s3:GetBucketLocation":  # bucket metadata only, no objects
                    assert resource == {"Fn::GetAtt": ["DataBucket", "Arn"]}
                    grants.setdefault(action, set()).add("bucket")
                    continue
                if action == "s3:ListBucket":
                    assert resource == {"Fn::GetAtt": ["DataBucket", "Arn"]}
                    prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
                    grants.setdefault(action, set()).update(f"list:{p}" for p in prefixes)
                    continue
                match = _S3_OBJECT_ARN.match(resource["Fn::Sub"])
                assert match, f"{role}: S3 resource {resource} is not scoped to a prefix"
                grants.setdefault(action, set()).add(match.group("prefix") + "/")
    return grants


def test_every_s3_grant_is_scoped_to_its_prefixes(resources):
    outputs = {"curated/", "quarantine/", "_staging/", "_glue/"}

    assert _s3_grants(resources, "ExtractRole") == {
        "s3:PutObject": {"raw/", "_state/extract/"},
        "s3:GetObject": {"_state/extract/"},
    }
    assert _s3_grants(resources, "TransformRole") == {
        "s3:GetObject": {"${AssetsPrefix}/", "raw/"} | outputs,
        "s3:PutObject": outputs,
        "s3:DeleteObject": outputs,
        "s3:GetBucketLocation": {"bucket"},
        "s3:ListBucket": {
            f"list:{p}{s}" for p in ("raw", "curated", "quarantine", "_staging", "_glue") for s in ("", "/*")
        },
    }
    assert _s3_grants(resources, "CrawlerRole") == {
        "s3:GetObject": {"curated/"},
        "s3:GetBucketLocation": {"bucket"},
        "s3:ListBucket": {"list:curated", "list:curated/*"},
    }
    assert _s3_grants(resources, "RawArrivedEventsRole") == {}


def test_job_output_paths_lie_inside_the_transform_roles_write_prefixes(resources):
    arguments = _props(resources, "TransformJob")["DefaultArguments"]
    writable = _s3_grants(resources, "TransformRole")["s3:PutObject"]

    for name in (
        "--curated_path",
        "--quarantine_path",
        "--staging_path",
        "--TempDir",
        "--spark-event-logs-path",
    ):
        key = fake_sub(arguments[name], FAKE_NAMES).split("lake-data-bucket/", 1)[1]
        assert any(f"{key}/".startswith(prefix) for prefix in writable), name


def test_one_role_per_component(resources):
    users = {
        "ExtractFunction": _props(resources, "ExtractFunction")["Role"],
        "TransformJob": _props(resources, "TransformJob")["Role"],
        "CuratedCrawler": _props(resources, "CuratedCrawler")["Role"],
        "RawArrivedRule": _props(resources, "RawArrivedRule")["Targets"][0]["RoleArn"],
    }
    roles = set(resources_of_type({"Resources": resources}, "AWS::IAM::Role"))

    assert sorted(r["Fn::GetAtt"][0] for r in users.values()) == sorted(roles)


# ---------------------------------------------------------------- Athena and alarms


def test_athena_workgroup_is_engine_v3_enforced_encrypted_and_capped(resources):
    configuration = _props(resources, "AthenaWorkGroup")["WorkGroupConfiguration"]

    assert configuration["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}


def test_source_template_has_no_hand_written_named_queries(resources):
    assert resources_of_type({"Resources": resources}, "AWS::Athena::NamedQuery") == {}


def test_failures_reach_the_alarm_topic(resources):
    job_rule = _props(resources, "TransformFailedRule")
    alarm = _props(resources, "ExtractErrorsAlarm")

    assert job_rule["EventPattern"]["detail-type"] == ["Glue Job State Change"]
    assert job_rule["EventPattern"]["detail"] == {
        "jobName": [{"Ref": "TransformJob"}],
        "state": ["FAILED", "TIMEOUT", "STOPPED"],
    }
    assert [t["Arn"] for t in job_rule["Targets"]] == [{"Ref": "AlarmTopic"}]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert _props(resources, "AlarmTopic")["Subscription"] == [
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    ]
