"""Serving: a FastAPI service that follows the registry's champion, reads online features,
and logs every prediction; the log and the actuals that arrive later feed monitoring."""
