"""One small helper so every table module reads the same: a name, columns, and a doc line each."""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import DataType, StructField, StructType


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """A pipeline table: its name, its Spark schema, and what each column holds."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()

    @property
    def schema(self) -> StructType:
        return StructType([StructField(c.name, c.type, c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def describe(self) -> str:
        """Markdown reference for docs/tables.md: one line per column."""
        lines = [f"### `{self.name}`", "", self.doc, "", "| column | type | holds |", "|---|---|---|"]
        for c in self.columns:
            lines.append(f"| `{c.name}` | {c.type.simpleString()} | {c.doc} |")
        return "\n".join(lines)


def table(name: str, doc: str, *columns: Column, partition_by: tuple[str, ...] = ()) -> Table:
    return Table(name=name, doc=doc, columns=tuple(columns), partition_by=partition_by)


def assert_matches(schema: StructType, table: Table) -> None:
    """Raise unless schema has exactly table's column names and types, in order (nullability aside)."""
    got = [(f.name, f.dataType.simpleString()) for f in schema.fields]
    want = [(c.name, c.type.simpleString()) for c in table.columns]
    if got != want:
        raise AssertionError(f"table {table.name}: schema differs\n got: {got}\nwant: {want}")
