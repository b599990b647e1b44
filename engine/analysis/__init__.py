"""Stage 6, analysis: what-if diffs, sensitivity, diagnosis, the nearest feasible plan."""
