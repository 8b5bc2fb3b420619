"""The local harness, not the product: the demo, the in-process training cycle and backfill,
and Airflow on the embedded default."""
