"""`corpusmill sql-server`: Spark's Thrift JDBC/ODBC server over the pipeline tables, for other clients.

The server runs in the session get_spark builds (the project's confs, Delta extension and catalog) and
is a reader: with storage.catalog derby it never boots the embedded metastore nor takes the root's
writer lock, so runs go on while it serves. Every table is published as `<database>.<table>` in the
catalog that all JDBC sessions share (a view over the table's path in the session's in-memory catalog;
with a shared Hive metastore, the registered table itself). Delta views read the newest version at
each query; tables created after the start appear within sql_server.refresh_s.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.session import get_spark, local_jars, under_spark_submit
from corpusmill.jobs.core.stage import Tool

log = logging.getLogger("corpusmill")

THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# each closed JDBC statement cancels its job group, and the scheduler warns when none is left to cancel
NOISY_LOGGERS = ("org.apache.spark.scheduler.DAGScheduler",)


@dataclass
class SqlServerConfig:
    host: str                 # address the server listens on (127.0.0.1: this machine only; 0.0.0.0: every interface)
    port: int                 # Thrift (binary) port of the JDBC URL
    refresh_s: float          # look for tables created since the start this often; 0 = only at the start

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("sql_server.host: expected an address, e.g. 127.0.0.1 or 0.0.0.0")
        if not 0 < self.port < 65536:
            raise ConfigError(f"sql_server.port: expected 1..65535, got {self.port}")
        if self.refresh_s < 0:
            raise ConfigError(f"sql_server.refresh_s: expected >= 0, got {self.refresh_s}")


def jdbc_url(config: Config, host: str, port: int) -> str:
    """The URL clients use; a wildcard bind address is shown as this machine's name."""
    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "*") else host
    return f"jdbc:hive2://{shown}:{port}/{config.storage.database}"


def beeline_path() -> Path:
    """beeline as the pip pyspark ships it (pyspark/bin/beeline)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "bin" / "beeline"


def check_port_free(host: str, port: int) -> None:
    """Fail before Spark starts when the port is taken (the Thrift server would fail minutes later)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror}); "
                              f"pick another with --port or sql_server.port") from None


def with_delta_on_driver_classpath(config: Config) -> Config:
    """Config whose local session has the jar cache on the driver's class path as well.

    Hive's JDBC sessions resolve classes through a loader under the JVM's application class path,
    which does not see `spark.jars`: without this, opening a connection fails with
    ClassNotFoundException for DeltaCatalog. Under spark-submit give `--driver-class-path` yourself.
    """
    if under_spark_submit():
        return config
    jars = local_jars(config)
    if not jars:
        return config
    conf = dict(config.spark.conf)
    key = "spark.driver.extraClassPath"
    conf[key] = ":".join([*jars, *([conf[key]] if conf.get(key) else [])])
    return dataclasses.replace(config, spark=dataclasses.replace(config.spark, conf=conf))


def publish_tables(spark: SparkSession, config: Config, published: set[str]) -> list[str]:
    """Make every table not in `published` queryable as <database>.<table> by all JDBC sessions.

    Temp views would not do: each JDBC connection is a session of its own. A session with the Hive
    catalog registers the table there (tableio.register); an in-memory one gets a view over its path.
    Returns the names published now (and adds them to `published`).
    """
    db = config.storage.database
    hive = (config.storage.catalog != "none"
            and spark.conf.get("spark.sql.catalogImplementation", "in-memory") == "hive")
    if not spark.catalog.databaseExists(db):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    new = [n for n in tableio.list_tables(spark, config) if n not in published]
    for n in new:
        if hive:
            tableio.register(spark, config, n)
        else:
            spark.sql(f"CREATE OR REPLACE VIEW `{db}`.`{n}` AS "
                      f"SELECT * FROM {config.storage.table_format}.`{config.table_path(n)}`")
    published.update(new)
    return new


def _derby_log(config: Config) -> str:
    """Where the Thrift server's own (in-memory) Derby writes derby.log: the store's scratch, else /tmp."""
    tmp = config.path(config.storage.tmp)
    base = Path(tmp.removeprefix("file://")) if "://" not in tmp.removeprefix("file://") else Path("/tmp")
    base.mkdir(parents=True, exist_ok=True)
    return str(base / "derby-sql-server.log")


def start_server(spark: SparkSession, config: Config, host: str, port: int):
    """Start HiveThriftServer2 on this session (the JVM object, whose .stop() ends it)."""
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.setProperty("derby.stream.error.file", _derby_log(config))
    spark.conf.set("hive.server2.thrift.bind.host", host)
    spark.conf.set("hive.server2.thrift.port", str(port))
    spark.conf.set("hive.server2.transport.mode", "binary")
    for name in NOISY_LOGGERS:
        try:
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
                name, jvm.org.apache.logging.log4j.Level.ERROR)
        except Exception as e:  # noqa: BLE001 - another logging backend: keep its output
            log.debug("could not quiet %s: %s", name, e)
    server_class = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    return server_class.startWithContext(spark._jsparkSession.sqlContext())


def serve(config: Config, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop the server and the session."""
    spark = get_spark(with_delta_on_driver_classpath(config), app_name="corpusmill-sql-server")
    published: set[str] = set()
    publish_tables(spark, config, published)
    server = start_server(spark, config, host, port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):       # after the SparkContext, which installs its own SIGINT handler
        signal.signal(sig, lambda *_: stop.set())
    url = jdbc_url(config, host, port)
    tables = ", ".join(f"{config.storage.database}.{n}" for n in sorted(published)) or "none yet"
    print(f"corpusmill sql-server: {url}\n"
          f"  tables: {tables}\n"
          f"  beeline: {beeline_path()} -u {url} -n $USER\n"
          f"  stop with Ctrl-C (or SIGTERM)", flush=True)
    try:
        interval = config.sql_server.refresh_s or None
        while not stop.wait(interval):
            for n in publish_tables(spark, config, published):
                print(f"corpusmill sql-server: new table {config.storage.database}.{n}", flush=True)
    finally:
        server.stop()
        spark.stop()
    print("corpusmill sql-server: stopped", flush=True)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--host", help="address to listen on (default: sql_server.host; 0.0.0.0 = every interface)")
    ap.add_argument("--port", type=int, help="Thrift port (default: sql_server.port)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    host = args.host or config.sql_server.host
    port = args.port if args.port is not None else config.sql_server.port
    if not 0 < port < 65536:
        raise ConfigError(f"--port: expected 1..65535, got {port}")
    check_port_free(host, port)
    serve(config, host, port)
    return 0


TOOLS = [Tool("sql-server", "serve the tables over JDBC/ODBC (Spark Thrift server) for beeline, BI tools, PyHive",
              add_arguments, run_cli, section=SqlServerConfig, section_name="sql_server")]
