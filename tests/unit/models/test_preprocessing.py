from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.models.preprocessing import UNKNOWN, Preprocessor

TRAIN = pd.DataFrame(
    {"lag": [1.0, 3.0, np.nan], "region": ["north", "south", "north"], "y": [10.0, 20.0, 30.0]}
)


def fitted() -> Preprocessor:
    return Preprocessor.fit(TRAIN, ["lag"], ["region"], "y")


def test_scaling_is_fitted_on_training_data_only():
    pre = fitted()
    assert pre.means == [2.0] and pre.scales == [1.0]
    later = pd.DataFrame({"lag": [100.0], "region": ["north"]})
    assert pre.numeric_matrix(later)[0, 0] == pytest.approx(98.0)  # not re-centred on new data


def test_missing_numbers_become_the_training_mean_and_unseen_categories_unknown():
    pre = fitted()
    frame = pd.DataFrame({"lag": [np.nan], "region": ["far_east"]})
    assert pre.numeric_matrix(frame)[0, 0] == 0.0
    assert pre.category_matrix(frame)[0, 0] == UNKNOWN
    assert pre.category_matrix(pd.DataFrame({"region": ["south"]}))[0, 0] == 2


def test_the_target_round_trips():
    pre = fitted()
    y = pd.Series([10.0, 25.0])
    assert pre.unscale_target(pre.scale_target(y)) == pytest.approx(y.to_numpy())


def test_it_survives_saving_inside_the_model():
    pre = fitted()
    assert Preprocessor.from_dict(pre.to_dict()) == pre


def test_records_give_exactly_the_matrices_a_frame_gives():
    """Serving scores records, training and evaluation frames: the same numbers either way."""
    train = pd.DataFrame(
        {"lag": [1.0, 3.0, 5.0], "day": [1, 2, 1], "region": ["north", "south", "north"], "y": [1, 2, 3]}
    )
    pre = Preprocessor.fit(train, ["lag"], ["day", "region"], "y")
    records = [
        {"lag": 2.5, "day": 2, "region": "south"},
        {"lag": None, "day": 7, "region": "far_east"},  # missing number, unseen categories
        {"lag": 4.0, "day": "1", "region": None},  # a day sent as text, a missing category
    ]
    frame = pd.DataFrame.from_records(records)
    assert np.array_equal(pre.numeric_rows(records), pre.numeric_matrix(frame))
    assert np.array_equal(pre.category_rows(records), pre.category_matrix(frame))
    assert pre.category_rows(records).tolist() == [[2, 2], [UNKNOWN, UNKNOWN], [1, UNKNOWN]]
