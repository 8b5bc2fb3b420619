"""Sensors on the champion's health: live performance and data shift (and whether its config
file changed).

Each poke runs the check's step (``conveyor monitor <check> ... --json``) where every step runs
(``CONVEYOR_EXECUTION``: a subprocess, a container of the task image, a pod), never in the
Airflow worker itself, whose image has no ML stack. No data to judge yet (actuals still on
their way) means wait: the sensor reschedules itself and holds no worker slot in
between. A breach outside the cooldown succeeds, with the check's result as XCom, so the
retrain trigger behind it runs. A healthy champion (or a cooldown) skips the rest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, BaseSensorOperator, PokeReturnValue

from conveyor.operators.step import step_task
from conveyor.steps import step_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context


class ChampionCheckSensor(BaseSensorOperator):
    template_fields = ("step_arguments",)
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
        self.step_arguments = tuple(arguments)
        self._running: BaseOperator | None = None

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow.sdk.exceptions import AirflowSkipException

        # Built here, at run time, so that it belongs to no DAG; rendered like a task of its own.
        self._running = step_task(self.step, *self.step_arguments)
        self._running.render_template_fields(context)
        result = self._running.execute(context)
        if not result or result["value"] is None:
            self.log.info("no data for %s to judge yet; checking again later", self.task_id)
            return False
        if result["should_retrain"]:
            self.log.info("%s breached: %s > %s", result["check"], result["value"], result["threshold"])
            return PokeReturnValue(is_done=True, xcom_value=result)
        raise AirflowSkipException(f"{result['check']} of v{result['champion_version']}: {result['why']}")

    def on_kill(self) -> None:
        if self._running is not None:
            self._running.on_kill()
