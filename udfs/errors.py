"""The error every layer raises for a setting that cannot work.

It lives here, at the bottom of the import graph (bench -> jobs -> schemas -> udfs), so that the
logic in udfs can raise it too; jobs/core/config.py exports it to the rest of the pipeline, and the
CLI turns it into one line and exit code 2.
"""


class ConfigError(ValueError):
    """A config problem, one line naming the key."""
