"""Services compose the layers: indexing, search, caption ranking, evaluation."""
