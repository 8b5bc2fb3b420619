"""Monitoring the champion: live error against actuals, and drift of what it is asked about.

- Performance (``performance``): the champion's served predictions (the prediction log)
  joined with the actuals that have arrived since (``conveyor actuals ingest``); the error,
  or for a ranking model NDCG@10 and MRR per result list, over the recent window, overall
  and per slice, against the config's threshold.
- Drift (``drift``): Evidently compares what the service was asked, and what it answered,
  with the champion's own test set and test predictions, found through its lineage; text
  features with Evidently's text drift (``text_drift``).

- Release (``release``): a candidate in release (canary or shadow) against the champion
  on the same live entity-days, and its guardrails; promoted, rolled back, or waited on.

The first two write a JSON summary (and drift its HTML report) to ``reports/<model>/`` and log them
on the champion's MLflow run (``checks``). The monitor DAG's sensors read exactly these
results.

Imports nothing itself: the Airflow image's Models view reads ``history`` and ``charts``
without the ML stack that ``performance`` and ``drift`` need.
"""
