"""corpusmill: Spark jobs over Delta tables that turn web crawls, documents and code into LLM
pretraining data.

The one import name. In a source checkout the code sits in the top-level folders (jobs/, udfs/,
schemas/, conf/, samplegen/); this folder holds a committed symlink to each (corpusmill/jobs ->
../jobs, ...), so `corpusmill.jobs`, `corpusmill.udfs`, ... resolve from the files alone, for Python,
type checkers and IDEs. An installed wheel or the `build-archive` zip holds the same folders inside
this package as plain folders.

The Python API (the notebooks use it):

    import corpusmill
    config = corpusmill.load_config("my.yaml", ["spark.master=local[4]"])
    spark = corpusmill.spark_session(config)
    results = corpusmill.run(config, stages=["format", "rules"], inputs=["crawl/*.warc.gz"])
    corpusmill.tables(config)                      # ['documents', 'rejected', 'pretrain', ...]
    df = corpusmill.read_table(config, "pretrain")
    corpusmill.sql(config, "SELECT lang, count(*) FROM pretrain GROUP BY lang").show()
"""
from __future__ import annotations

__all__ = ["load_config", "spark_session", "stages", "run", "tables", "read_table", "sql"]


def load_config(path: str | None = None, overrides: list[str] | None = None):
    """conf/default.yaml, then the YAML file at `path`, then `section.key=value` overrides, checked."""
    from corpusmill.jobs.registry import load_config as load
    return load(path, list(overrides or []))


def spark_session(config):
    """The SparkSession for `config` (the active one under spark-submit or in a notebook that made one)."""
    from corpusmill.jobs.core.session import get_spark
    return get_spark(config)


def stages() -> list[str]:
    """The stage names in pipeline order."""
    from corpusmill.jobs.pipeline import stages_by_name
    return [s.name for s in stages_by_name()]


def run(config, stages: list[str] | None = None, *, inputs: list[str] | None = None, force: bool = False,
        spark=None) -> list:
    """Run stages (all when None) in pipeline order, as `corpusmill run` does: preflight checks, the
    storage root's writer lock, stages already done for the same input and config skipped. Returns one
    StageResult (stage, status, rows_in, rows_out, rows_rejected, seconds) per stage."""
    from corpusmill.jobs.pipeline import preflight, run_pipeline
    preflight(config, stages)
    return run_pipeline(spark or spark_session(config), config, stages, inputs=inputs, force=force)


def tables(config, spark=None) -> list[str]:
    """The pipeline tables that exist, each made available to `sql` by its name."""
    from corpusmill.jobs.core.tableio import register_views
    return register_views(spark or spark_session(config), config)


def read_table(config, name: str, version: int | None = None, spark=None):
    """A pipeline table (`pretrain`, `rejected`, ...) as a Spark DataFrame; `version` reads an older
    Delta version."""
    from corpusmill.jobs.core.tableio import read_table as read
    return read(spark or spark_session(config), config, name, version)


def sql(config, query: str, spark=None):
    """Spark SQL with every pipeline table available by name; returns a DataFrame."""
    from corpusmill.jobs.core.tableio import register_views
    spark = spark or spark_session(config)
    register_views(spark, config)
    return spark.sql(query)
