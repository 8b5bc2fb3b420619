"""Features: the Feast store over gold, and the point-in-time training and test sets built from it."""
