"""The Models view: an Airflow 3 plugin (a FastAPI app under ``/conveyor`` and an entry in
the UI's navigation) that shows each model's champion, challenger, monitoring and history.

The files here are imported by Airflow's plugin loader one by one under their bare names,
hence the distinctive names (``models_plugin``, ``models_app``...)."""
