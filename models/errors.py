"""The one exception type for bad forecasting input."""

from __future__ import annotations


class ForecastInputError(ValueError):
    """Bad input to a forecaster, loader or the forecast CLI.

    The message is one line naming the file (or frame), the series and the problem, so the CLI
    can print it as is and exit with code 2.
    """
