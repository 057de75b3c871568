"""Where a model's files are read from: a local path as given; a directory on another Hadoop file
system (s3a://, hdfs://, gs://, abfs://) copied to every node with `SparkContext.addFile` first,
because transformers and KenLM read local files only; a Hugging Face hub id left to transformers.
"""
from __future__ import annotations

import os


def is_remote(path: str) -> bool:
    """A URI of a Hadoop file system other than the local one."""
    return "://" in path and path.split("://", 1)[0].lower() not in ("", "file")


def is_hub_id(name: str) -> bool:
    """`name` or `org/name` as the Hugging Face hub accepts them, and not a path that exists here."""
    if not name or name.startswith((".", "/", "~")) or "://" in name or os.path.exists(name):
        return False
    try:
        from huggingface_hub.utils import validate_repo_id

        validate_repo_id(name)
        return True
    except Exception:  # noqa: BLE001 - HFValidationError and friends: not a hub id
        return False


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def in_hub_cache(name: str) -> bool:
    """The hub model's config.json is in the local Hugging Face cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # noqa: BLE001 - a malformed id is simply not cached
        return False


def _name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def ship(spark, uri: str) -> str:
    """Driver side: copy a remote model directory to every node of this session (once); its local path.

    SparkContext.addFile also fetches it to the driver, so driver-side checks read the same files.
    """
    sc = spark.sparkContext
    if _name(uri) not in {_name(f) for f in sc.listFiles}:
        sc.addFile(uri, recursive=True)
    return local_path(uri)


def local_path(model: str) -> str:
    """Driver or Python worker: the local directory to load `model` from (hub ids are returned as is)."""
    if is_remote(model):
        from pyspark import SparkFiles

        return os.path.join(SparkFiles.getRootDirectory(), _name(model))
    return os.path.expanduser(model)
