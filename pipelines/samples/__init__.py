"""Sample data, not the product: generators of the sources the demo and tests use, their
corruptions and served traffic."""
