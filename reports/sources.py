"""The data sources a report may rest on, with their licences (see datasets/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

from reports.document import Source

NATO_DEFEXP = Source(
    "Defence Expenditure of NATO Countries (2014-2024), datasets/nato_defexp_2014_2024_wide.csv",
    "NATO, 17 June 2024",
    "No open licence; credit NATO, no sale or advertising use",
    "members' defence spending history; the ASPF's pro-rata pledges",
)
WORLD_BANK = Source(
    "World Development Indicators, datasets/worldbank_wdi_gdp_nato_partners.csv",
    "World Bank",
    "CC BY 4.0",
    "GDP and GDP growth (drivers of defence spending)",
)
NIF_FACTS = Source(
    "NATO Innovation Fund participants, datasets/nato_innovation_fund_participants.csv",
    "NATO and NIF public statements, compiled",
    "Facts, sources cited per row",
    "the NIF's Limited Partners and known commitments",
)

PURL_FACTS = Source(
    "PURL packages reported in 2025, datasets/purl_packages_2025.csv",
    "press reports, compiled (sources cited per row)",
    "Facts, sources cited per row",
    "the PURL packages, their contributors and amounts",
)

#: Sources behind each shipped scenario, by file stem.
SCENARIO_SOURCES: dict[str, tuple[Source, ...]] = {
    "aspf-2026": (NATO_DEFEXP,),
    "nif": (NIF_FACTS,),
    "purl-2025": (PURL_FACTS,),
}


#: One plain sentence on what a shipped scenario stands for, by file stem (shown first
#: among a report's assumptions).
SCENARIO_NOTES: dict[str, str] = {
    "aspf-2026": "The Alternative Security Partnership Fund is described in public commentary "
    "but not confirmed by NATO; its figures here are illustrative.",
}


def scenario_note(name: str) -> tuple[str, ...]:
    """The note on a shipped scenario, given its file name or stem (empty for others)."""
    stem = Path(name).stem
    return (SCENARIO_NOTES[stem],) if stem in SCENARIO_NOTES else ()


def scenario_source(stem: str, path: str) -> tuple[Source, ...]:
    """The scenario file itself, then the public data it was derived from, if shipped."""
    own = Source(
        f"Scenario file {path}",
        "this project (shipped scenarios) or the user",
        "Apache-2.0 for shipped scenarios; the user's own otherwise",
        "fund, members' pledges and opt-outs, areas, floors, ceilings, priorities, policies",
    )
    return (own, *SCENARIO_SOURCES.get(stem, ()))
