"""The MLflow pyfunc wrapper: a registered model version predicts from raw feature columns,
with the preprocessing that training fitted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.pyfunc import PythonModel

BUNDLE = "bundle"


class ConveyorModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from pipelines.models import load_trained

        self.model = load_trained(Path(context.artifacts[BUNDLE]))

    def predict(self, context, model_input, params=None):
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.model.predict(frame)

    def predict_records(self, rows):
        """Serving's path: features as one dict a row, already validated."""
        return self.model.predict_records(rows)
