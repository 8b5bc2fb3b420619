"""Sensors on the champion's health: live performance and data shift.

Each poke runs the check's step (``conveyor monitor <check> ... --json``). No data to judge yet (actuals
still on their way) means wait: the sensor reschedules itself and holds no worker slot in
between. A breach outside the cooldown succeeds, with the check's result as XCom, so the
retrain trigger behind it runs. A healthy champion (or a cooldown) skips the rest.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from conveyor.operators.step import run_step
from conveyor.steps import step_command, step_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context


class ChampionCheckSensor(BaseSensorOperator):
    template_fields = ("arguments",)
    ui_color = "#fdf1d6"

    def __init__(
        self,
        *,
        step: str,
        arguments: Sequence[str],
        mode: str = "reschedule",
        poke_interval: timedelta | float = timedelta(minutes=5),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_id=step_name(step), mode=mode, poke_interval=poke_interval, soft_fail=True, **kwargs
        )
        self.step = step
        self.arguments = step_command(step, tuple(arguments))
        self._process: subprocess.Popen[str] | None = None

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow.sdk.exceptions import AirflowSkipException

        result = run_step(self, self.arguments, str(context["run_id"]))
        if not result or result["value"] is None:
            self.log.info("no data for %s to judge yet; checking again later", self.task_id)
            return False
        if result["should_retrain"]:
            self.log.info("%s breached: %s > %s", result["check"], result["value"], result["threshold"])
            return PokeReturnValue(is_done=True, xcom_value=result)
        why = "in cooldown" if result["breached"] else f"{result['value']:.3f} within {result['threshold']}"
        raise AirflowSkipException(f"{result['check']} of v{result['champion_version']}: {why}")
