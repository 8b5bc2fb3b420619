"""What the operator's Models view shows, read from the registry and the reports folder.

Plain data (dicts of strings and numbers), so the Airflow plugin only renders it and a test
needs neither Airflow nor a browser."""
