"""The lakehouse: batches land in bronze, pass validation into silver, become features in gold.
Nothing published is rewritten."""
