"""The production path: the same SQL files submitted to BigQuery.

``plan_bigquery(start, end)`` returns the statements of one BigQuery script, without
contacting Google (tests parse them as BigQuery SQL):

1. one statement per raw table failing the script when a column the SQL reads is
   missing (INFORMATION_SCHEMA, with the closest existing name);
2. the input checks of ``transformations.checks`` as ``SELECT ERROR(...)`` statements
   (same messages as locally);
3. ``BEGIN TRANSACTION``; for each step in order: ``DELETE`` the range from its table and
   ``INSERT`` the step's SELECT (the file's SQL, untouched); ``COMMIT TRANSACTION``.
   A later step reads the rows an earlier one inserted in the same transaction, and a
   failure rolls every table back.

``submit(client, plan)`` sends the script with ``@start_date``/``@end_date`` as DATE
query parameters and waits for it; ``run`` is what ``nbafs transform --profile
bigquery`` calls. The tables must exist (``nbafs schema --ddl`` prints their DDL).
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable

from transformations import checks
from transformations.steps import STEPS, raw_inputs


@dataclass(frozen=True)
class BigQueryPlan:
    start: dt.date
    end: dt.date
    statements: tuple[str, ...]

    @property
    def parameters(self) -> tuple[tuple[str, str, dt.date], ...]:
        """``(name, BigQuery type, value)`` for each query parameter."""
        return (("start_date", "DATE", self.start), ("end_date", "DATE", self.end))

    @property
    def script(self) -> str:
        return ";\n\n".join(self.statements) + ";\n"


def plan_bigquery(start: dt.date, end: dt.date) -> BigQueryPlan:
    """The statements that transform ``start``..``end`` in BigQuery, in order."""
    inputs = raw_inputs()
    statements: list[str] = []
    for fqn, columns in inputs.items():
        statements.append(checks.bigquery_column_statement(fqn, columns))
    statements += [c.bigquery_statement() for c in checks.input_checks(inputs)]
    statements.append("BEGIN TRANSACTION")
    for step in STEPS:
        t = step.table
        cols = ", ".join(t.column_names)
        statements.append(f"DELETE FROM {t.fqn} WHERE {t.partition_by} BETWEEN @start_date AND @end_date")
        statements.append(
            f"INSERT INTO {t.fqn} ({cols})\n"
            f"SELECT {cols}\nFROM (\n-- {step.display_path}\n{step.sql.strip()}\n) AS result"
        )
    statements.append("COMMIT TRANSACTION")
    return BigQueryPlan(start, end, tuple(statements))


def submit(client, plan: BigQueryPlan):
    """Run the plan's script on ``client`` (a google.cloud.bigquery.Client); returns the finished job."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter(name, typ, value) for name, typ, value in plan.parameters]
    )
    job = client.query(plan.script, job_config=config)
    job.result()
    return job


def run(start: dt.date, end: dt.date, *, client=None, progress: Callable[[str], None] = print):
    from transformations.runner import TableReport, TransformReport

    if client is None:
        from google.cloud import bigquery

        client = bigquery.Client()
    t0 = time.perf_counter()
    plan = plan_bigquery(start, end)
    progress(f"submitting {len(plan.statements)} statements to BigQuery for {start} .. {end}")
    job = submit(client, plan)
    report = TransformReport(start, end, "bigquery", seconds=time.perf_counter() - t0)
    # Each INSERT ran as a child job of the script; its affected rows are the table's rows.
    inserted = {}
    for child in client.list_jobs(parent_job=job.job_id):
        if getattr(child, "statement_type", None) == "INSERT" and child.destination is not None:
            inserted[f"{child.destination.dataset_id}.{child.destination.table_id}"] = child.num_dml_affected_rows
    for step in STEPS:
        rows = inserted.get(step.table.fqn)
        report.tables.append(TableReport(step.table.fqn, int(rows) if rows is not None else -1, 0.0))
        progress(f"{step.table.fqn:<44} {rows if rows is not None else '?':>8} rows")
    progress(f"done in {report.seconds:.1f} s (job {job.job_id})")
    return report
