from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import MissingInputError
from pipelines.training.metrics import check_slices, evaluate_predictions, regression_metrics


def test_metrics_have_their_textbook_values():
    metrics = regression_metrics(np.array([10.0, 20.0, 0.0]), np.array([12.0, 16.0, 3.0]))
    assert metrics["rmse"] == pytest.approx(np.sqrt((4 + 16 + 9) / 3))
    assert metrics["mae"] == pytest.approx(3.0)
    # The zero actual has no percentage error; MAPE is over the other two rows.
    assert metrics["mape"] == pytest.approx((0.2 + 0.2) / 2 * 100)


def test_metrics_per_slice(freight_config):
    scored = pd.DataFrame(
        {
            "region": ["north", "north", "south"],
            "volume": [10.0, 20.0, 30.0],
            "prediction": [10.0, 22.0, 27.0],
        }
    )
    evaluation = evaluate_predictions(scored, freight_config)
    assert evaluation.slices["region"]["north"]["mae"] == pytest.approx(1.0)
    assert evaluation.slices["region"]["south"]["rmse"] == pytest.approx(3.0)
    assert evaluation.flat()["slice.region.south.mae"] == pytest.approx(3.0)


def test_a_test_set_sharing_no_slice_value_with_training_is_refused(freight_config):
    train = pd.DataFrame({"region": ["north", "south"]})
    with pytest.raises(MissingInputError, match="shares no 'region' value with the training set"):
        check_slices(train, pd.DataFrame({"region": ["far_east"]}), freight_config)
    check_slices(train, pd.DataFrame({"region": ["far_east", "north"]}), freight_config)


def test_an_empty_test_set_is_refused(freight_config):
    with pytest.raises(MissingInputError, match="the test set is empty"):
        evaluate_predictions(pd.DataFrame({"region": [], "volume": [], "prediction": []}), freight_config)
