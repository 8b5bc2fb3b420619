"""Release: gate a trained version, register it, promote it to champion or roll back, over the
MLflow registry."""
