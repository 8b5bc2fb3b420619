"""Conveyor's Airflow pieces, in the provider layout: operators/, sensors/, hooks/."""
