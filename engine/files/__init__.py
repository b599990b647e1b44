"""Stage 2, files: scenario readers and writers (YAML, JSON, Excel), result files, atomic writes."""
