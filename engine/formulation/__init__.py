"""Stage 3, the formulation: a scenario's LP/MIP as arrays (core, project families, patches)."""
