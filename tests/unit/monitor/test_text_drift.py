"""Which texts the drift report compares: every known text once, against the served texts
none of them is, each in its own column of one frame."""

from __future__ import annotations

import pandas as pd

from pipelines.monitor.text_drift import text_samples, with_texts

ENOUGH = 20


def test_only_texts_the_champion_never_saw_are_compared_each_once():
    known = {"query": pd.Series(["cheap flight", "bread recipe", "cheap flight"])}
    served = pd.DataFrame({"query": ["cheap flight"] * 6 + ["vuelo barato"] * 3 + ["receta pan"], "x": 1.0})
    references, unseen, samples = text_samples(known, served, min_new_texts=ENOUGH)
    assert references == {"query": ["bread recipe", "cheap flight"]}
    assert unseen == {"query": ["receta pan", "vuelo barato"]}
    sample = samples["query"]
    assert (sample.known, sample.served, sample.unseen, sample.unseen_row_share) == (2, 3, 2, 0.4)
    assert not sample.judged  # two new texts are too few to tell anything
    many = pd.DataFrame({"query": [f"consulta {i}" for i in range(ENOUGH)]})
    assert text_samples(known, many, min_new_texts=ENOUGH)[2]["query"].judged


def test_texts_and_rows_share_one_frame_the_shorter_padded_with_empty_cells():
    rows = pd.DataFrame({"ctr": [0.1, 0.2, 0.3], "query": ["a", "a", "b"]}, index=[7, 8, 9])
    padded = with_texts(rows, {"query": ["b"]})
    assert padded["ctr"].tolist() == [0.1, 0.2, 0.3] and padded["query"].tolist()[0] == "b"
    assert padded["query"].isna().tolist() == [False, True, True]
    longer = with_texts(rows, {"query": ["a", "b", "c", "d"]})
    assert len(longer) == 4 and longer["ctr"].isna().sum() == 1 and longer["query"].notna().all()
