"""Filters of the results table (value on a key, range on a number) and the one-row-per-run table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.store.results_filters import RowFilter, distinct_values, filter_rows, is_numeric_key
from tsstudio.store.results_index import ResultRow, run_groups


def row(name: str, size: int, seed: int, acc: float | None, dims: tuple = (2, 4)) -> ResultRow:
    metrics = {} if acc is None else {"svm_accuracy": acc}
    return ResultRow(Path(f"{name}.h5"), name, kind="tokenizer", dataset="CBF", seed=seed,
                     config={"quantizer.codebook_size": size, "trainer.seed": seed, "encoder.dims": dims},
                     metrics=metrics)


ROWS = [row("a", 8, 1, 0.5), row("b", 8, 2, 0.7), row("c", 16, 1, 0.9, (2, 8)), row("d", 16, 2, None)]


def names(rows):
    return [r.name for r in rows]


def test_a_range_filter_keeps_the_runs_within_its_bounds_and_drops_runs_without_the_metric():
    assert names(filter_rows(ROWS, [RowFilter.range("svm_accuracy", 0.6, 0.9)])) == ["b", "c"]
    assert names(filter_rows(ROWS, [RowFilter.range("svm_accuracy", None, 0.7)])) == ["a", "b"]
    assert names(filter_rows(ROWS, [RowFilter.range("svm_accuracy", 0.71)])) == ["c"]
    assert names(filter_rows(ROWS, [RowFilter.range("quantizer.codebook_size", 10)])) == ["c", "d"]
    with pytest.raises(ValueError, match="svm_accuracy: the lower bound 0.9 is above the upper bound 0.1"):
        RowFilter.range("svm_accuracy", 0.9, 0.1)


def test_value_filters_match_keys_identity_fields_and_list_values_and_combine():
    size16 = RowFilter.value("quantizer.codebook_size", 16)
    assert names(filter_rows(ROWS, [size16])) == ["c", "d"]
    assert names(filter_rows(ROWS, [size16, RowFilter.value("seed", 1)])) == ["c"]
    assert names(filter_rows(ROWS, [RowFilter.value("encoder.dims", [2, 8])])) == ["c"]
    assert names(filter_rows(ROWS, [RowFilter.value("seed", 1, 2)])) == ["a", "b", "c", "d"]
    assert size16.describe() == "quantizer.codebook_size = 16"
    assert RowFilter.range("svm_accuracy", 0.5, 0.75).describe() == "0.5 ≤ svm_accuracy ≤ 0.75"


def test_distinct_values_and_numeric_keys_for_the_filter_menus():
    assert distinct_values(ROWS, "quantizer.codebook_size") == [8, 16]
    assert distinct_values(ROWS, "encoder.dims") == [(2, 4), (2, 8)]
    assert distinct_values(ROWS, "svm_accuracy") == [0.5, 0.7, 0.9]
    assert is_numeric_key(ROWS, "quantizer.codebook_size") and not is_numeric_key(ROWS, "encoder.dims")
    assert not is_numeric_key(ROWS, "no.such.key")


def test_one_row_per_run_keeps_each_runs_metrics_and_leaves_out_unreadable_runs():
    broken = ResultRow(Path("x.h5"), "x", error="damaged")
    groups = run_groups([*ROWS, broken])
    assert [g.values for g in groups] == [{"name": n} for n in "abcd"]
    assert groups[1].stats["svm_accuracy"].mean == 0.7 and groups[1].stats["svm_accuracy"].n == 1
    assert groups[3].stats == {}
