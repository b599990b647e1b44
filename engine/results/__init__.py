"""Stage 5, results: the schema of every frame, extraction from the arrays, plain-language names."""
