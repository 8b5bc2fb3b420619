"""The ``tuning:`` section of a model config: an Optuna study over the model type's own
hyperparameters, judged on a validation split carved from the training set."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from pipelines.config.base import MetricName, StrictModel

Direction = Literal["minimize", "maximize"]


class NumberRange(StrictModel):
    """A range of numbers: floats when a bound is a float, else integers (``step`` apart)."""

    low: float | int
    high: float | int
    log: bool = False
    step: float | int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> NumberRange:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs a positive low, not {self.low}")
        if self.log and self.step is not None:
            raise ValueError("a range is either log or stepped, not both")
        return self

    @property
    def integral(self) -> bool:
        return all(isinstance(v, int) for v in (self.low, self.high, self.step or 1))


class Choices(StrictModel):
    """A closed set of values, any type the parameter takes (e.g. lists of layer sizes)."""

    choices: list[Any] = Field(min_length=2)


SearchRange = NumberRange | Choices


class TuningConfig(StrictModel):
    """Hyperparameter search before training: ``trials`` Optuna trials (each a mapped
    Airflow task, ``workers`` at a time, all in one study), pruned on the per-epoch
    validation metric; the best parameters train the real run when they beat the config's own."""

    enabled: bool = Field(default=True, description="The train form's default; a run can switch it.")
    metric: MetricName = Field(description="What a trial is judged on, on the validation split.")
    direction: Direction
    trials: int = Field(ge=1, le=200)
    workers: int = Field(default=2, ge=1, description="Trials running at once (mapped task instances).")
    timeout_minutes: float = Field(gt=0, description="No trial starts after the study is this old.")
    sampler: Literal["tpe", "random"] = "tpe"
    sampler_seed: int = Field(ge=0)
    startup_trials: int = Field(default=4, ge=1, description="TPE samples at random before this many.")
    pruner: Literal["median", "none"] = "median"
    prune_after_epochs: int = Field(default=1, ge=0, description="No trial is pruned before this epoch.")
    validation_days: int = Field(gt=0, description="The last days of the training set, held out to judge.")
    search_space: dict[str, SearchRange] = Field(min_length=1)

    def check_against(self, model_type: str, params: type[BaseModel]) -> None:
        """Every searched parameter is one ``params`` takes, and every value it may take is
        one ``params`` accepts; raises ValueError naming the parameter and what is allowed."""
        for name, space in self.search_space.items():
            where = f"tuning.search_space.{name}"
            if name not in params.model_fields:
                raise ValueError(f"{where}: {model_type} has no parameter {name!r}; it takes "
                                 f"{', '.join(params.model_fields)}")  # fmt: skip
            annotation = params.model_fields[name].annotation
            if isinstance(space, NumberRange) and annotation not in (int, float):
                raise ValueError(f"{where}: {name} is not a number ({_type_name(annotation)}); "
                                 "search it with choices: [...]")  # fmt: skip
            if isinstance(space, NumberRange) and annotation is int and not space.integral:
                raise ValueError(f"{where}: {name} is an integer; give integer low, high and step")
            values = space.choices if isinstance(space, Choices) else [space.low, space.high]
            for value in values:
                try:
                    params(**{name: value})
                except ValidationError as exc:
                    reason = "; ".join(e["msg"] for e in exc.errors())
                    raise ValueError(f"{where}: {value!r} is not a valid {name}: {reason}") from None


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)
