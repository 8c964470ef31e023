"""Delta commits: one per table per run, replacing the rows of the run's bags.

`write_deltalake(mode="overwrite", predicate=...)` replaces only the rows the predicate
matches, in one transaction (https://delta-io.github.io/delta-rs/usage/writing/
#overwriting-part-of-the-table-data-using-a-predicate); `schema_mode="merge"` adds new
columns as nullable (https://delta-io.github.io/delta-rs/api/delta_writer/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from orchestrator.lakehouse.names import sql_string
from orchestrator.lakehouse.rows import BAG_ID

RowSource = Callable[[], Iterable[pa.RecordBatch]]  # read when the write gets to it


@dataclass(frozen=True)
class Target:
    """Where tables live: a local folder or an abfss:// URL, with deltalake storage options."""

    root: str
    storage_options: Mapping[str, str] | None = None
    # Where the static reports go: `<root>/reports` for a folder; for a cloud lake the folder
    # the data lake's mount gives the same place (location.py), or "" for none.
    reports_dir: str = ""

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    @property
    def reports(self) -> str:
        if self.reports_dir or not self.is_local:
            return self.reports_dir
        return str(Path(self.root) / "reports")

    def uri(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"


def existing_schema(target: Target, name: str) -> pa.Schema | None:
    try:
        table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    except TableNotFoundError:
        return None
    return pa.schema(table.schema().to_arrow())


def merge_schemas(current: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """The schema holding both; raises ValueError naming the column whose types conflict."""
    if current is None:
        return new
    for column in new:
        index = current.get_field_index(column.name)
        if index >= 0 and not current.field(index).type.equals(column.type):
            raise ValueError(
                f"column {column.name!r} is {current.field(index).type} in the lake but "
                f"{column.type} in this bag: a type conflict (rename the field, or write the "
                "bag to another lake)"
            )
    return pa.unify_schemas([current, new])


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch in the table's merged schema: its columns cast, the ones it lacks null."""
    names = batch.schema.names
    columns = [
        batch.column(names.index(f.name)).cast(f.type)
        if f.name in names
        else pa.nulls(batch.num_rows, type=f.type)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _batches(sources: Iterable[RowSource], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for source in sources:  # a batch of one topic's rows in memory at a time
        for batch in source():
            yield _conformed(batch, schema)


def in_bags(bag_ids: Iterable[str]) -> str:
    return f"{BAG_ID} IN ({', '.join(sql_string(b) for b in sorted(set(bag_ids)))})"


def replace_bags(
    target: Target,
    name: str,
    schema: pa.Schema,
    sources: Sequence[RowSource],
    bag_ids: Iterable[str],
    partition_by: list[str] | None,
    run_id: str,
) -> None:
    """One commit: the rows of `bag_ids` in table `name` become those of `sources`."""
    reader = pa.RecordBatchReader.from_batches(schema, _batches(sources, schema))
    options: dict[str, Any] = {"storage_options": dict(target.storage_options or {})}
    write_deltalake(
        target.uri(name),
        reader,
        mode="overwrite",
        predicate=in_bags(bag_ids),
        schema_mode="merge",
        partition_by=partition_by,
        commit_properties=_properties(run_id),
        **options,
    )


def delete_bags(target: Target, name: str, bag_ids: Iterable[str], run_id: str) -> None:
    """One commit removing the rows of `bag_ids` (bags that now fail or lost this table)."""
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    table.delete(in_bags(bag_ids), commit_properties=_properties(run_id))


def _properties(run_id: str) -> Any:
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={"rosbag.run_id": run_id})


def commit_count(target: Target, name: str) -> int:
    """How many commits the table's log holds (tests and the benchmark count them)."""
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return len(table.history())


def table_version(target: Target, name: str) -> int:
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return table.version()


def read_rows(target: Target, name: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return pa.table(table.to_pyarrow_table(columns=columns)).to_pylist()
