"""Reports for planners and finance officers: self-contained HTML, PDF and Excel.

``reports.allocation`` and ``reports.forecast_report`` build a format-free
:class:`~reports.document.Report`; ``reports.publish.publish`` writes it as HTML (and, on
request, PDF through WeasyPrint and an Excel workbook with one sheet per table).
"""
