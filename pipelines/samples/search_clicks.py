"""How users answer a day's search results: clicks by position and relevance, time spent on a
click, and the day's relevance label graded from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Chance that a user who looks at a result clicks it, by latent relevance 0..3.
ATTRACTIVENESS = np.array([0.04, 0.2, 0.45, 0.75])


# Median seconds a click stays on the document, by latent relevance: people stay on answers.
DWELL_MEDIAN = np.array([8.0, 20.0, 55.0, 140.0])


# Mean dwell of a day's clicks below the first bound grades 1, below the second 2, else 3.
DWELL_GRADE_BOUNDS = (30.0, 90.0)


def day_of_logs(rng: np.random.Generator, world: pd.DataFrame, day: pd.Timestamp, count: int) -> pd.DataFrame:
    """One day's logs: ``count`` queries of ``world`` issued, every candidate shown each time."""
    popularity = world.groupby("query_id", sort=True)["popularity"].first()
    count = min(count, len(popularity))
    issued = rng.choice(
        popularity.index.to_numpy(), size=count, replace=False, p=popularity / popularity.sum()
    )
    times = pd.Series(1 + rng.poisson(popularity[issued].to_numpy()), index=issued)
    day_rows = world[world["query_id"].isin(issued)].copy()
    impressions = times[day_rows["query_id"]].to_numpy()
    latent, position = day_rows["latent_relevance"].to_numpy(), day_rows["position"].to_numpy()
    clicks = rng.binomial(impressions, ATTRACTIVENESS[latent] / np.sqrt(1 + position))
    # Each click's dwell; a row's dwell_seconds is the mean over its clicks of the day.
    each = rng.lognormal(np.log(DWELL_MEDIAN[latent])[:, None], 0.6, size=(len(day_rows), impressions.max()))
    clicked = np.arange(impressions.max())[None, :] < clicks[:, None]
    # Rounded as reported, before grading: the label follows from the row as it is written.
    dwell = np.round(np.where(clicks > 0, (each * clicked).sum(axis=1) / np.maximum(clicks, 1), 0.0), 1)
    short, medium = DWELL_GRADE_BOUNDS
    day_rows["relevance"] = np.where(clicks == 0, 0, 1 + (dwell >= short) + (dwell >= medium))
    day_rows["impressions"], day_rows["clicks"], day_rows["dwell_seconds"] = impressions, clicks, dwell
    day_rows["date"] = day
    return day_rows
