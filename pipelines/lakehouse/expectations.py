"""Great Expectations glue: run a source's versioned suite on a batch and explain the result.

The suite itself is data (``configs/expectations/<suite>.json``, GX's own suite format);
``$PARAMETER`` values are filled per batch from the model config and the logical date.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pipelines.config.load import expectation_suite_path
from pipelines.config.model import ModelConfig
from pipelines.lakehouse.chunk_results import BATCH_WIDE, UNIQUE_KEY, add_batch_wide, merge_chunk
from pipelines.lakehouse.failures import describe_failures, render_html, replace_missing_values

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuiteValidationResult

    from pipelines.lakehouse.whole_batch import RepeatedKeys


@dataclass(frozen=True)
class SuiteVerdict:
    """One batch's validation: pass/fail, what failed in plain words, and GX's own result."""

    success: bool
    problems: list[str]
    result: dict[str, Any]
    html: str
    suite_name: str
    suite_version: int


class BatchValidator:
    """Runs one model's suite. Build it once per process: GX set-up is the slow part."""

    def __init__(self, config: ModelConfig) -> None:
        # Great Expectations would otherwise send usage analytics over the network.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.config = config
        definition = json.loads(expectation_suite_path(config).read_text())
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas(config.source.name).add_dataframe_asset("batch")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole batch")
        self._suite = context.suites.add(
            gx.ExpectationSuite(
                name=definition["name"],
                expectations=definition["expectations"],
                meta=definition.get("meta", {}),
            )
        )
        # Chunks see the row-wise expectations; the batch-wide ones are computed over the whole
        # batch (whole_batch.py) and added to the merged result.
        self.batch_wide = [e for e in definition["expectations"] if e["type"] in BATCH_WIDE]
        self._chunk_suite = context.suites.add(
            gx.ExpectationSuite(
                name=f"{definition['name']}_chunk",
                expectations=[e for e in definition["expectations"] if e["type"] not in BATCH_WIDE],
            )
        )
        self.suite_version = int(definition.get("meta", {}).get("version", 0))
        self.date_columns = [c for c, kind in config.source.schema_.items() if kind == "date"]

    def parameters(self, logical_date: date) -> dict[str, Any]:
        import pandas as pd

        source = self.config.source
        earliest = max(source.start_date, logical_date - timedelta(days=source.max_report_delay_days))
        return {
            "max_rows": source.max_rows_per_batch,
            "min_date": pd.Timestamp(earliest),
            "max_date": pd.Timestamp(logical_date),
        }

    @property
    def unique_key(self) -> list[str]:
        """The columns the suite says are unique together, if it says so."""
        return next((e["kwargs"]["column_list"] for e in self.batch_wide if e["type"] == UNIQUE_KEY), [])

    def validate(self, frame: pd.DataFrame, logical_date: date) -> SuiteVerdict:
        """The whole suite on a whole batch in memory."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self._suite, expectation_parameters=self.parameters(logical_date))
        return self._verdict(result)

    def validate_chunk(
        self,
        frame: pd.DataFrame,
        logical_date: date,
        merged: ExpectationSuiteValidationResult | None,
    ) -> ExpectationSuiteValidationResult:
        """The row-wise expectations on one chunk, added into ``merged`` (the chunks before)."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self._chunk_suite, expectation_parameters=self.parameters(logical_date))
        if merged is None:
            return result
        merge_chunk(merged, result)
        return merged

    def finish(
        self,
        merged: ExpectationSuiteValidationResult,
        logical_date: date,
        rows: int,
        repeated: RepeatedKeys | None,
    ) -> SuiteVerdict:
        """The verdict on a batch validated a chunk at a time: the chunks' ``merged`` result
        with the batch-wide expectations, for ``rows`` distinct rows, added."""
        parameters = self.parameters(logical_date)
        filled = [
            {**e, "kwargs": {k: _filled(v, parameters) for k, v in e["kwargs"].items()}}
            for e in self.batch_wide
        ]
        add_batch_wide(merged, filled, rows, repeated)
        merged.suite_name = self._suite.name
        return self._verdict(merged)

    def _verdict(self, result: ExpectationSuiteValidationResult) -> SuiteVerdict:
        replace_missing_values(result)
        return SuiteVerdict(
            success=bool(result.success),
            problems=describe_failures(result, self.date_columns),
            result=result.to_json_dict(),
            html=render_html(result),
            suite_name=self._suite.name,
            suite_version=self.suite_version,
        )


def _filled(value: Any, parameters: dict[str, Any]) -> Any:
    """A suite's ``{"$PARAMETER": name}`` value, filled in."""
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        return parameters[value["$PARAMETER"]]
    return value
