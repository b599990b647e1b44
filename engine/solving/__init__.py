"""Stage 4, solving: back-ends, the go/no-go stage, the tie-break, warm re-solves, the pipeline."""
