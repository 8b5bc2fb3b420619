"""Behavioural checks of a trained freight model: it moves the right way with known drivers
and does not depend on things it should not (Made-With-ML's tests/model, for our model)."""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.features.datasets import build_datasets, read_dataset
from pipelines.features.store import apply_features, feature_store
from pipelines.lakehouse.storage import Lakehouse
from pipelines.models import fit_model, resolve_params


@pytest.fixture(scope="module")
def trained(prepared_lakehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("model-home")
    shutil.copytree(prepared_lakehouse, home / "lakehouse")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVEYOR_HOME", str(home))
        platform, config = load_platform_config(), load_model_config("freight_volume")
        lakehouse = Lakehouse(platform.lakehouse_uri)
        store = feature_store(platform)
        apply_features(store, config, lakehouse)
        train_ref, test_ref = build_datasets(lakehouse, store, config, date(2024, 4, 30))
        model = fit_model(config, read_dataset(train_ref.uri), home / "checkpoints", resolve_params(config))
    return model, read_dataset(test_ref.uri)


def test_a_holiday_lowers_the_forecast(trained):
    model, test = trained
    working_days = test[(test["is_holiday"] == 0) & (test["day_of_week"] < 5)]
    ordinary = model.predict(working_days)
    holiday = model.predict(working_days.assign(is_holiday=1))
    assert holiday.mean() < 0.9 * ordinary.mean()


def test_more_freight_in_the_past_means_more_forecast(trained):
    model, test = trained
    history = ["volume_lag_14d", "volume_lag_21d", "volume_lag_28d", "volume_mean_7d", "volume_mean_28d"]
    busier = test.assign(**{column: test[column] * 1.5 for column in history})
    assert model.predict(busier).mean() > 1.2 * model.predict(test).mean()


def test_weekends_carry_less_than_weekdays(trained):
    model, test = trained
    assert (
        model.predict(test.assign(day_of_week=6)).mean()
        < 0.7 * model.predict(test.assign(day_of_week=1)).mean()
    )


def test_forecasts_do_not_depend_on_row_order_or_batch(trained):
    model, test = trained
    shuffled = test.sample(frac=1.0, random_state=3)
    in_order = pd.Series(model.predict(test), index=test.index)
    np.testing.assert_allclose(model.predict(shuffled), in_order.loc[shuffled.index].to_numpy(), rtol=1e-5)
    one_by_one = np.array([model.predict(test.iloc[[i]])[0] for i in range(5)])
    np.testing.assert_allclose(one_by_one, in_order.iloc[:5].to_numpy(), rtol=1e-5)


def test_forecasts_are_never_negative(trained):
    model, test = trained
    assert (model.predict(test.assign(volume_mean_7d=0.0, volume_mean_28d=0.0, is_holiday=1)) >= 0).all()
