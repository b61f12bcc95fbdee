"""The production path: the same SQL files submitted to BigQuery as one script.

``plan_bigquery(start, end)`` returns the statements of the script, without contacting
BigQuery (``nbafs transform --print-sql`` prints them):

1. the input checks of ``transformations.checks`` as ``SELECT ERROR(...)`` statements
   (same messages as locally);
2. ``BEGIN TRANSACTION``; for each step in order: ``DELETE`` the range from its table and
   ``INSERT`` the step's SELECT (the file's SQL, untouched); ``COMMIT TRANSACTION``.
   A later step reads the rows an earlier one inserted in the same transaction, and a
   failure rolls every table back.

``run(warehouse, start, end)`` is what ``NBAFS_PROFILE=prod nbafs transform`` calls (via
``transformations.runner``, which has already run the schema check): it creates the
derived tables that do not exist yet, sends the script with ``@start_date``/``@end_date``
as DATE parameters through the BigQuery engine and counts the rows of the range.
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
    statements = [c.bigquery_statement() for c in checks.input_checks(raw_inputs())]
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


def run(warehouse, start: dt.date, end: dt.date, *, progress: Callable[[str], None] = print):
    """Run the plan on ``warehouse`` (a ``BigQueryWarehouse``); a ``TransformReport``."""
    from transformations.runner import TableReport, TransformReport
    from warehouse.engine import QueryError
    from warehouse.validate import ValidationError

    t0 = time.perf_counter()
    warehouse.ensure_tables([step.table for step in STEPS])
    plan = plan_bigquery(start, end)
    progress(f"submitting {len(plan.statements)} statements to {warehouse.where()} for {start} .. {end}")
    try:
        job = warehouse.execute(plan.script, dict((n, v) for n, _, v in plan.parameters),
                                what=f"transforming {start} .. {end}")
    except QueryError as exc:
        if "Nothing was written" in exc.reason:  # an input check's ERROR(...): the same message as locally
            raise ValidationError(exc.reason) from None
        raise
    counts = warehouse.query(
        " UNION ALL ".join(
            f"SELECT '{s.table.fqn}' AS t, COUNT(*) AS n FROM {s.table.fqn} "
            f"WHERE {s.table.partition_by} BETWEEN @start_date AND @end_date"
            for s in STEPS
        ),
        {"start_date": start, "end_date": end},
    ).to_pylist()
    rows = {r["t"]: r["n"] for r in counts}
    report = TransformReport(start, end, "prod", seconds=time.perf_counter() - t0)
    for step in STEPS:
        report.tables.append(TableReport(step.table.fqn, int(rows[step.table.fqn]), 0.0))
        progress(f"{step.table.fqn:<44} {rows[step.table.fqn]:>8,} rows")
    progress(f"done in {report.seconds:.1f} s (job {job.job_id})")
    return report
