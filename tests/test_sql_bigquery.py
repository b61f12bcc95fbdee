"""The production SQL is valid BigQuery and matches the declared tables.

What is sent is checked by parsing it with sqlglot (dialect bigquery): every
transformations/sql file, the whole script of ``plan_bigquery`` (input checks,
transaction, DELETE + INSERT per table) and the DDL of ``nbafs schema``. A statement
sqlglot cannot parse comes back as a generic Command and fails the test. Running them
on BigQuery (the emulator) is tests/test_prod_warehouse.py.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

from transformations import bigquery as bq
from transformations import checks
from transformations.steps import SQL_DIR, STEPS, raw_inputs
from warehouse.ddl import ddl
from warehouse.schema import ALL_TABLES, RAW_TABLES

START, END = dt.date(2025, 11, 13), dt.date(2026, 1, 30)


def parse_all(sql: str) -> list[exp.Expression]:
    statements = [s for s in sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE) if s]
    for s in statements:
        assert not isinstance(s, exp.Command), f"not parsed as BigQuery: {s.sql()[:200]}"
    return statements


@pytest.mark.parametrize("path", sorted(SQL_DIR.rglob("*.sql")), ids=lambda p: p.relative_to(SQL_DIR).as_posix())
def test_every_sql_file_parses_as_bigquery_and_says_grain_and_inputs(path):
    text = path.read_text()
    (statement,) = parse_all(text)
    assert isinstance(statement, exp.Query)
    head = text.split("\n\n", 1)[0]
    assert "Grain:" in text and "Reads:" in text, f"{path.name}: the comment on top states grain and inputs"
    assert head.startswith("-- nba_")
    assert {p.name for p in statement.find_all(exp.Parameter)} == {"start_date", "end_date"}


def test_every_sql_file_is_a_step():
    assert {s.path for s in STEPS} == set(SQL_DIR.rglob("*.sql"))


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.table.fqn)
def test_step_outputs_exactly_the_declared_columns(step):
    (statement,) = parse_all(step.sql)
    assert statement.named_selects == step.table.column_names


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.table.fqn)
def test_step_reads_only_declared_tables_and_columns(step):
    # Step.inputs resolves every column against warehouse/schema.py and raises on an unknown one.
    declared = {t.fqn: set(t.column_names) for t in ALL_TABLES}
    for fqn, cols in step.inputs().items():
        assert fqn in declared and set(cols) <= declared[fqn]


def test_plan_is_one_parseable_script_with_checks_then_one_transaction():
    plan = bq.plan_bigquery(START, END)
    statements = parse_all(plan.script)
    assert len(statements) == len(plan.statements)
    kinds = [type(s).__name__ for s in statements]
    begin = kinds.index("Transaction")
    assert kinds[-1] == "Commit"
    # Every check comes before the transaction and fails through ERROR(...).
    for s in statements[:begin]:
        assert isinstance(s, exp.Select) and "ERROR(" in s.sql("bigquery").upper()
    assert len(statements[:begin]) == len(checks.input_checks(raw_inputs()))
    body = statements[begin + 1:-1]
    assert [type(s).__name__ for s in body] == ["Delete", "Insert"] * len(STEPS)
    for step, (delete, insert) in zip(STEPS, zip(body[::2], body[1::2])):
        assert delete.this.sql("bigquery") == step.table.fqn
        assert "game_date BETWEEN @start_date AND @end_date" in delete.sql("bigquery")
        target = insert.this
        assert target.this.sql("bigquery") == step.table.fqn
        assert [c.name for c in target.expressions] == step.table.column_names
    # The same SQL files, untouched, inside the INSERTs.
    for step in STEPS:
        assert step.sql.strip() in plan.script


def test_ddl_parses_as_bigquery_and_matches_the_declarations():
    statements = parse_all(ddl())
    creates = [s for s in statements if s.args.get("kind") == "TABLE"]
    assert len(creates) == len(ALL_TABLES)
    for create, table in zip(creates, ALL_TABLES):
        schema = create.this
        assert schema.this.sql("bigquery") == table.fqn
        cols = schema.expressions
        assert [c.name for c in cols] == table.column_names
        for c, declared in zip(cols, table.columns):
            assert c.args["kind"].sql("bigquery") == declared.type
            not_null = any(isinstance(k.kind, exp.NotNullColumnConstraint) for k in c.constraints)
            assert not_null == (not declared.nullable), c.sql("bigquery")
        sql = create.sql("bigquery")
        assert "PARTITION BY game_date" in sql


def test_raw_tables_are_the_only_external_inputs():
    assert set(raw_inputs()) <= {t.fqn for t in RAW_TABLES}
