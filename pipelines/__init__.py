"""Conveyor's pipeline steps: plain typed functions behind one CLI (``conveyor``)."""

__version__ = "0.1.0"
