"""Scenarios as Excel workbooks (.xlsx), for planners who keep their inputs in Excel.

A workbook holds one sheet per part of the scenario; the first row of each sheet names
its columns (text in brackets after a name, e.g. ``pledge (USD)``, is a hint and ignored):

- ``fund``: two columns ``field`` and ``value``, one row per field: name, currency, unit,
  years (``2026, 2027, 2028`` or ``2026-2030``), carry_over, and the objective's
  discount_rate, tie_break and member_weights.
- ``members``: id, name, pledge (one amount a year, held flat) or ``pledge 2026``,
  ``pledge 2027``, ... (one column per year), opt_in, opt_out, and priorities (the
  member's own, as YAML flow text: ``{cyber: 3, space: 1}``).
- ``areas``: id, name, priority, floor, ceiling, absorption, hard.
- ``value_curves`` (optional): area, up_to, marginal; one row per segment, in order.
- ``caps`` (optional): member, area, cap.
- ``policies`` (optional): id, label, areas, members, at_least, at_most, per, hard.
- one sheet per go/no-go section the scenario uses (``projects``, ``calls``,
  ``resources``, ``exclusions``, ...; see :data:`SECTION_MODELS`): one row per item, one
  column per field, cells written as in a YAML file (``2bn``, ``25%``, ``[DEU, FRA]``,
  ``{2026: 2bn, 2027: 4bn}``).
- one sheet per named section (policy ``paths``): a ``name`` column, then the fields.
- other top-level settings (``pledges``) are rows of sheet ``fund``, written as YAML text.
- ``about`` and any sheet whose name starts with ``notes`` are for people and not read.

Amounts are numbers in the fund's unit (``unit`` on sheet ``fund``: 18.9 means $18.9bn
when the unit is bn), or text with its own unit such as ``12bn``. A floor, ceiling or
policy bound in a cell formatted as a percentage (or text ``40%``) is a share of the
year's total. Lists are comma-separated ids; ``[]`` is an empty list.

A bad cell raises :class:`~engine.errors.ScenarioError` naming the sheet and the cell:
``sheet 'areas', cell D7 (areas[cyber].floor): must not be negative``.

The code: :mod:`engine.files.excel_layout` (sheets, columns, how a cell reads),
:mod:`engine.files.excel_read` (workbook to scenario data, the archive checked first by
:mod:`engine.files.xlsx_guard`) and :mod:`engine.files.excel_write` (scenario to workbook).
"""

from __future__ import annotations

from engine.files.excel_layout import SECTION_MODELS, SHEETS
from engine.files.excel_read import read_workbook_data
from engine.files.excel_write import save_workbook, scenario_workbook, write_workbook_scenario

__all__ = [
    "SECTION_MODELS",
    "SHEETS",
    "read_workbook_data",
    "save_workbook",
    "scenario_workbook",
    "write_workbook_scenario",
]
