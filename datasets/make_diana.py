"""Generate the SYNTHETIC DIANA staged-grant scenario: ``python -m datasets.make_diana``.

DIANA's published structure (``datasets/nato_nif_diana_facts.csv``): a first-stage grant
of EUR 100,000 to each selected company, up to a further EUR 300,000 for the best teams,
a first cohort of 44 companies from over 1,300 applicants, and a network of 182 test
centres. Everything else here is SYNTHETIC and seeded: the applications (ids, years,
challenge areas, values, stage-2 requests), the yearly budget, its split among Allies
(pro rata to 2023 GDP, World Bank WDI, as a stand-in for NATO's GNI-based cost share),
the per-stage caps and the test-centre slots. No real company or application is
represented.

``diana(n, seed)`` gives the scenario as plain data for any number of applications (the
MIP benchmark uses 300, 1,000 and 3,000); ``main`` writes ``scenarios/diana.yaml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).parent
YEARS = [2026, 2027, 2028, 2029, 2030]
#: SYNTHETIC: the grant budget per year, EUR.
BUDGET = 6.5e6


def _facts() -> dict[str, str]:
    facts = pd.read_csv(HERE / "nato_nif_diana_facts.csv")
    return dict(zip(facts["key"], facts["value"], strict=True))


STAGE1_GRANT = float(_facts()["grant_phase1_eur"])  # EUR 100,000 (published)
STAGE2_GRANT = 300_000.0  # "up to a further EUR 300,000" (published)

# id, name, priority (SYNTHETIC priorities; names follow DIANA's published challenges)
CHALLENGES = [
    ("energy_resilience", "Energy resilience", 1.0),
    ("sensing", "Sensing and surveillance", 1.1),
    ("secure_information", "Secure information sharing", 1.0),
    ("human_health", "Human health and performance", 0.8),
    ("critical_infrastructure", "Critical infrastructure and logistics", 0.9),
]


def _members() -> list[dict]:
    """Allies' yearly pledges: BUDGET split pro rata to 2023 GDP (World Bank WDI)."""
    wdi = pd.read_csv(HERE / "worldbank_wdi_gdp_nato_partners.csv")
    gdp = wdi[(wdi["group"] == "NATO member") & (wdi["year"] == 2023)]
    gdp = gdp[["iso3", "country", "gdp_current_usd"]].sort_values("iso3")
    share = gdp["gdp_current_usd"] / gdp["gdp_current_usd"].sum()
    return [
        {"id": r.iso3, "name": r.country, "pledge": f"{round(s * BUDGET / 1e3) / 1e3:.3f}m"}
        for r, s in zip(gdp.itertuples(), share, strict=True)
    ]


def _applications(n: int, seed: int) -> list[dict]:
    """``n`` synthetic applications spread evenly over the horizon's years."""
    rng = np.random.default_rng(seed)
    quality = rng.lognormal(0.0, 0.5, n)
    follow = quality * rng.lognormal(0.0, 0.35, n)
    years = np.array(YEARS)[np.arange(n) % len(YEARS)]
    areas = rng.integers(0, len(CHALLENGES), n)
    asks = rng.integers(15, 31, n) * 10_000  # stage-2 requests EUR 150k-300k
    width = len(str(n))
    apps = []
    for i in range(n):
        apps.append(
            {
                "id": f"app_{i + 1:0{width}d}",
                "year": int(years[i]),
                "area": CHALLENGES[int(areas[i])][0],
                # value points at the full grant: ~1.2 per EUR 1m at stage 1, ~1.5 at stage 2
                "value": [round(float(0.12 * quality[i]), 4), round(float(0.45 * follow[i]), 4)],
                "request": [f"{STAGE1_GRANT / 1e3:g}k", f"{asks[i] / 1e3:g}k"],
            }
        )
    return apps


def diana(n: int = 300, seed: int = 2026) -> dict:
    """The synthetic DIANA scenario with ``n`` applications, as plain data."""
    return {
        "fund": {
            "name": "DIANA accelerator grants (SYNTHETIC)",
            "currency": "EUR",
            "unit": "m",
            "years": YEARS,
            "carry_over": True,
        },
        "members": _members(),
        "areas": [
            {
                "id": ident,
                "name": name,
                "priority": prio,
                # other accelerator activities in the challenge: worth less than good grants
                "value_curve": [{"up_to": "0.5m", "marginal": 0.6}, {"marginal": 0.05}],
            }
            for ident, name, prio in CHALLENGES
        ],
        "resources": [
            {"id": "test_centres", "name": "Test-centre slots (SYNTHETIC)", "capacity": 18}
        ],
        "calls": [
            {
                "id": "diana",
                "name": "DIANA challenge programme (SYNTHETIC applications)",
                "area": CHALLENGES[0][0],
                "stages": [
                    {
                        "name": "Phase 1 grant",
                        "grant": f"{STAGE1_GRANT / 1e3:g}k",
                        "max_count": 40,
                        "uses": {"test_centres": 0.25},
                    },
                    {
                        "name": "Phase 2 grant (up to)",
                        "grant": f"{STAGE2_GRANT / 1e3:g}k",
                        "min_share": "50%",
                        "max_count": 12,
                        "budget": "3m",
                        "uses": {"test_centres": 1},
                    },
                ],
                "applications": _applications(n, seed),
            }
        ],
    }


HEADER = """\
# DIANA staged grants: a SYNTHETIC example scenario (currency EUR, unit millions).
# Generated by `python -m datasets.make_diana` (seeded) from datasets/nato_nif_diana_facts.csv
# (published structure: EUR 100k first-stage grant, up to EUR 300k more for the best teams,
# a first cohort of 44 from >1,300 applicants, 182 test centres) and
# datasets/worldbank_wdi_gdp_nato_partners.csv (2023 GDP, for the members' split).
# SYNTHETIC: every application (ids, years, challenge areas, values, requests), the EUR 6.5m
# yearly budget, priorities, per-stage caps (40 first-stage, 12 second-stage grants a year,
# EUR 3m for second stages) and the 18 test-centre slots a year. No real company is shown.
"""


def main(argv: list[str] | None = None) -> None:
    """Write ``datasets/scenarios/diana.yaml`` (or ``--out``) with ``--n`` applications."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of applications")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=HERE / "scenarios" / "diana.yaml")
    args = parser.parse_args(argv)
    text = HEADER + yaml.safe_dump(
        diana(args.n, args.seed), sort_keys=False, allow_unicode=True, width=100
    )
    from engine.files.atomic import atomic_write_text

    atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
