"""Training: the train_model and evaluate_model steps, their metrics, and the lineage and
MLflow runs they record."""
