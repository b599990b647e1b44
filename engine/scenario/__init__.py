"""Stage 1, the scenario: its schema, units, validation, edits and forecast pledges.

The domain knows nothing of solvers, files or screens.
"""
