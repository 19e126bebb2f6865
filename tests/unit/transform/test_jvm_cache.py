"""Built once per JVM: one build per argument, the same Column handed back, and that Column gives every
DataFrame it is used in that DataFrame's own rows, from any thread; classes looked up once; the names PySpark
resolves on every call imported exactly, as the same classes, and answered by the view without a round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pyspark
import pytest
from chispa import assert_df_equality
from py4j.java_gateway import java_import
from pyspark import SparkContext
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from spotify_etl.transform.concurrent import run_all
from spotify_etl.transform.jvm_cache import HOT_NAMES, jvm_class, per_jvm


def _counting_builder() -> tuple[list[int], object]:
    builds: list[int] = []

    @per_jvm
    def doubled_plus(n: int) -> Column:
        builds.append(n)
        return F.transform(F.col("xs"), lambda x: x * 2 + F.lit(n)).alias("ys")

    return builds, doubled_plus


def test_a_column_is_built_once_per_argument_and_handed_back_the_same(spark: SparkSession) -> None:
    builds, doubled_plus = _counting_builder()

    first, again, other = doubled_plus(1), doubled_plus(1), doubled_plus(5)

    assert first is again and other is not first
    assert builds == [1, 5]


def test_a_cached_column_gives_each_dataframe_its_own_rows_in_concurrent_threads(spark: SparkSession) -> None:
    _, doubled_plus = _counting_builder()
    inputs = [spark.createDataFrame([([k, k + 1],)], "xs array<int>") for k in range(6)]

    def rows_of(k: int):
        return lambda: inputs[k].select(doubled_plus(1)).collect()

    got = run_all([rows_of(k) for k in range(6)], concurrent=True)

    for k, rows in enumerate(got):
        expected = spark.createDataFrame([([2 * k + 1, 2 * k + 3],)], "ys array<int>")
        assert_df_equality(spark.createDataFrame(rows, "ys array<int>"), expected)


def test_a_new_jvm_gets_columns_of_its_own(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    builds, doubled_plus = _counting_builder()
    before = doubled_plus(1)

    # A process whose gateway was replaced (a new JVM) must not be handed a Column of the old one.
    monkeypatch.setattr(SparkContext, "_gateway", object())
    after = doubled_plus(1)

    assert after is not before and builds == [1, 1]


def test_arguments_by_keyword_are_refused_rather_than_cached_apart(spark: SparkSession) -> None:
    _, doubled_plus = _counting_builder()

    with pytest.raises(TypeError, match="by position"):
        doubled_plus(n=1)


def test_a_jvm_class_is_looked_up_once_and_works(spark: SparkSession) -> None:
    path_class = jvm_class("org.apache.hadoop.fs.Path")

    assert jvm_class("org.apache.hadoop.fs.Path") is path_class
    assert path_class("file:///lake/raw/a%20b.json.gz").getName() == "a%20b.json.gz"


def test_each_hot_name_resolves_to_the_class_pysparks_own_imports_give_it(spark: SparkSession) -> None:
    # A fresh view with exactly PySpark's imports (read from the installed PySpark, in its order): what the
    # names meant before import_hot_names (which the session's view has had since it started).
    launcher = Path(pyspark.__file__).with_name("java_gateway.py").read_text(encoding="utf-8")
    imports = re.findall(r'java_import\(gateway\.jvm, "([^"]+)"\)', launcher)
    assert "org.apache.spark.api.python.*" in imports  # PythonUtils' package, on Spark 3.5 and 4 alike
    fresh = spark.sparkContext._gateway.new_jvm_view()
    for package in imports:
        java_import(fresh, package)

    for name in HOT_NAMES:
        assert getattr(spark.sparkContext._jvm, name)._fqn == getattr(fresh, name)._fqn, name


def test_the_view_answers_each_hot_name_and_its_full_name_without_asking_the_jvm(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = spark.sparkContext._jvm
    client = spark.sparkContext._gateway._gateway_client
    sent: list[str] = []
    send = client.send_command

    def counted(command: str, *args: object, **kwargs: object) -> object:
        sent.append(command)
        return send(command, *args, **kwargs)

    monkeypatch.setattr(client, "send_command", counted)
    classes = {name: getattr(view, name) for name in HOT_NAMES}
    by_full_name = {name: getattr(view, java_class._fqn) for name, java_class in classes.items()}
    assert sent == []  # no round trip for any of them

    col = F.col("x")  # PySpark's own calls find them too: one round trip, the function's call itself
    assert sent and not [command for command in sent if command.startswith("r\nu\n")]
    assert str(col) == "Column<'x'>"
    # the same objects under both names (which class each is: the test above, against PySpark's own imports)
    assert all(by_full_name[name] is classes[name] for name in HOT_NAMES)
