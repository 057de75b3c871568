"""Run with spark-submit: prints what jobs.core.session.get_spark ended up with, as JSON."""
import json
import sys

from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.registry import load_config

cfg = load_config(None, [f"storage.root={sys.argv[1]}"])
spark = get_spark(cfg)
conf = spark.sparkContext.getConf()
print("PROBE " + json.dumps({
    "master": spark.sparkContext.master,
    "shuffle": spark.conf.get("spark.sql.shuffle.partitions"),
    "extensions": spark.conf.get("spark.sql.extensions", ""),
    "arrow": spark.conf.get("spark.sql.execution.arrow.pyspark.enabled"),
    "app": conf.get("spark.app.name"),
}))
spark.stop()
