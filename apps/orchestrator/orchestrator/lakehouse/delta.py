"""Delta commits: one per table per run, replacing the rows of the run's bags.

`write_deltalake(mode="overwrite", predicate=...)` replaces only the rows the predicate
matches, in one transaction (https://delta-io.github.io/delta-rs/usage/writing/
#overwriting-part-of-the-table-data-using-a-predicate); `schema_mode="merge"` adds new
columns as nullable (https://delta-io.github.io/delta-rs/api/delta_writer/).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

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


# Attempts at a commit that another writer's commit conflicted with, and the first wait between
# them (doubled each time, jittered): two runs committing one table at once both land.
COMMIT_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 0.2
log = logging.getLogger(__name__)


def _with_retries(name: str, commit: Callable[[], None]) -> None:
    """Run `commit` again after a conflict with a concurrent commit of the table.

    delta-rs commits optimistically: when another writer committed first and its changes touch
    what this one read (here: rows of the same bags), the commit fails with CommitFailedError
    ("a concurrent transactions added new data") and must be rerun against the new version
    (https://delta-io.github.io/delta-rs/how-delta-lake-works/delta-lake-acid-transactions/).
    Each commit here replaces whole bags, so rerunning it is safe: the rows end up as the
    last run made them, once."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            commit()
            return
        except CommitFailedError as error:
            if attempt == COMMIT_ATTEMPTS:
                raise CommitFailedError(
                    f"table {name}: {error} (gave up after {attempt} attempts: another run "
                    "keeps committing it; rerun this one to commit its bags)"
                ) from error
            wait = FIRST_RETRY_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())
            log.info("table %s: a concurrent commit won; committing again in %.1f s", name, wait)
            time.sleep(wait)


def _ensure_table(
    target: Target, name: str, schema: pa.Schema, partition_by: list[str] | None, run_id: str
) -> None:
    """Create a missing table empty, in its own commit, before any rows are written.

    Two runs that both find no table and both write its first version with a predicate
    overwrite would each remove nothing, and delta-rs lets the later one through: the bags both
    wrote end up twice (tests/lakehouse/test_concurrency.py shows it). On an existing table the
    same race is a conflict (see _with_retries). The empty version holds no rows, so readers
    still never see half a run."""
    if existing_schema(target, name) is not None:
        return
    try:
        DeltaTable.create(
            target.uri(name),
            schema=schema,
            mode="ignore",
            partition_by=partition_by,
            storage_options=dict(target.storage_options or {}),
            commit_properties=_properties(run_id),
        )
    except DeltaError:
        if existing_schema(target, name) is None:  # not another run's create: a real failure
            raise


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
    _ensure_table(target, name, schema, partition_by, run_id)
    ids = sorted(set(bag_ids))

    def commit() -> None:
        reader = pa.RecordBatchReader.from_batches(schema, _batches(sources, schema))
        write_deltalake(
            target.uri(name),
            reader,
            mode="overwrite",
            predicate=in_bags(ids),
            schema_mode="merge",
            partition_by=partition_by,
            commit_properties=_properties(run_id),
            storage_options=dict(target.storage_options or {}),
        )

    _with_retries(name, commit)


def delete_bags(target: Target, name: str, bag_ids: Iterable[str], run_id: str) -> None:
    """One commit removing the rows of `bag_ids` (bags that now fail or lost this table)."""
    ids = sorted(set(bag_ids))

    def commit() -> None:
        table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
        table.delete(in_bags(ids), commit_properties=_properties(run_id))

    _with_retries(name, commit)


def _properties(run_id: str) -> Any:
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={"rosbag.run_id": run_id})


def commit_count(target: Target, name: str) -> int:
    """How many commits of rows the table's log holds (tests and the benchmark count them); the
    empty version that created the table (_ensure_table) holds none and is not counted."""
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return sum(1 for entry in table.history() if entry.get("operation") != "CREATE TABLE")


def table_version(target: Target, name: str) -> int:
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return table.version()


def has_rows(target: Target, name: str, bag_ids: Iterable[str]) -> bool:
    """Whether the table holds a row of these bags (reads the bag_id column until one)."""
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    wanted = pc.field(BAG_ID).isin(sorted(set(bag_ids)))
    return table.to_pyarrow_dataset().scanner(columns=[BAG_ID], filter=wanted).head(1).num_rows > 0


def read_rows(target: Target, name: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    table = DeltaTable(target.uri(name), storage_options=dict(target.storage_options or {}))
    return pa.table(table.to_pyarrow_table(columns=columns)).to_pylist()
