"""Regenerate the shipped scenarios from the shipped NATO tables.

Run ``python -m datasets.make_scenarios``.

The ASPF's 2026 pledges split $98bn pro rata to each ally's 2024 defence expenditure
(NATO, current US$, 2024 estimates). This split, the priorities, floors, ceilings, value
curves and opt-outs are ILLUSTRATIVE ASSUMPTIONS, not published figures.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).parent
FUND_TOTAL = 98e9
YEARS = [2026, 2027, 2028, 2029, 2030]

# id, name, priority, floor, ceiling, absorption, value curve [(up_to, marginal)...]
AREAS = [
    (
        "capability",
        "Military capability development",
        1.0,
        "15bn",
        "40%",
        None,
        [("20bn", 1.0), ("35bn", 0.55), (None, 0.15)],
    ),
    (
        "ai",
        "Artificial intelligence",
        1.2,
        "3bn",
        None,
        "30%",
        [("5bn", 1.0), ("9bn", 0.5), (None, 0.1)],
    ),
    (
        "autonomy",
        "Autonomous systems",
        1.1,
        "3bn",
        None,
        "30%",
        [("6bn", 1.0), ("10bn", 0.5), (None, 0.1)],
    ),
    (
        "quantum",
        "Quantum technologies",
        0.8,
        None,
        "4bn",
        None,
        [("1.5bn", 1.0), ("3bn", 0.4), (None, 0.05)],
    ),
    (
        "materials",
        "Advanced materials and manufacturing",
        0.7,
        None,
        None,
        None,
        [("2bn", 1.0), ("4bn", 0.5), (None, 0.1)],
    ),
    (
        "energy",
        "Energy resilience",
        0.9,
        "2bn",
        None,
        None,
        [("3bn", 1.0), ("6bn", 0.5), (None, 0.1)],
    ),
    ("space", "Space", 0.9, None, "8bn", None, [("3bn", 1.0), ("6bn", 0.5), (None, 0.1)]),
    ("cyber", "Cyber defence", 1.3, "5bn", None, "30%", [("6bn", 1.0), ("10bn", 0.5), (None, 0.1)]),
    (
        "infrastructure",
        "Infrastructure and military mobility",
        0.8,
        None,
        None,
        None,
        [("6bn", 1.0), ("12bn", 0.4), (None, 0.1)],
    ),
    (
        "training",
        "Training and exercises",
        0.6,
        None,
        None,
        None,
        [("3bn", 1.0), ("6bn", 0.4), (None, 0.05)],
    ),
    (
        "regional",
        "Regional security projects",
        0.7,
        None,
        None,
        None,
        [("3bn", 1.0), ("6bn", 0.4), (None, 0.05)],
    ),
    (
        "capacity_building",
        "Defence capacity building for partners",
        0.6,
        None,
        None,
        None,
        [("2bn", 1.0), ("4bn", 0.4), (None, 0.05)],
    ),
    (
        "ukraine",
        "Trust fund for partners (support to Ukraine)",
        1.2,
        "8bn",
        None,
        None,
        [("10bn", 1.0), ("18bn", 0.6), (None, 0.15)],
    ),
    (
        "innovation",
        "Innovation and startup accelerator grants",
        0.8,
        None,
        "3bn",
        None,
        [("1bn", 1.0), ("2bn", 0.5), (None, 0.1)],
    ),
]

# Illustrative earmarks, so that opt-outs matter.
OPT_OUT = {
    "HUN": ["ukraine"],
    "SVK": ["ukraine"],
    "TUR": ["space", "ukraine"],
    "FRA": ["innovation"],
    "LUX": ["training"],
}


def nato_pledges() -> pd.DataFrame:
    """2024 defence expenditure (current US$ million) per ally and its pro-rata pledge."""
    wide = pd.read_csv(HERE / "nato_defexp_2014_2024_wide.csv")
    latest = wide[wide["year"] == 2024][["iso3", "country", "defexp_usd_current_m"]]
    latest = latest[~latest["iso3"].isin(["NATO_EUR_CAN", "NATO_TOTAL", "USA"])].copy()
    latest["share"] = latest["defexp_usd_current_m"] / latest["defexp_usd_current_m"].sum()
    latest["pledge"] = (latest["share"] * FUND_TOTAL).round(-6)
    return latest.sort_values("iso3")


def _money(amount: float) -> str:
    return f"{amount / 1e9:.3f}bn".replace(".000bn", "bn")


def aspf() -> dict:
    """The ASPF scenario as plain data."""
    pledges = nato_pledges()
    members = [
        {
            "id": r.iso3,
            "name": r.country,
            "pledge": _money(r.pledge),
            **({"opt_out": OPT_OUT[r.iso3]} if r.iso3 in OPT_OUT else {}),
        }
        for r in pledges.itertuples()
    ]
    members.append({"id": "ISL", "name": "Iceland", "pledge": 0})
    members.append({"id": "USA", "name": "United States", "pledge": 0})
    members.sort(key=lambda m: m["id"])
    areas = []
    for ident, name, prio, floor, ceiling, absorption, curve in AREAS:
        area = {"id": ident, "name": name, "priority": prio}
        if floor:
            area["floor"] = floor
        if ceiling:
            area["ceiling"] = ceiling
        if absorption:
            area["absorption"] = absorption
        area["value_curve"] = [
            {"up_to": up, "marginal": mg} if up else {"marginal": mg} for up, mg in curve
        ]
        areas.append(area)
    return {
        "fund": {
            "name": "Alternative Security Partnership Fund",
            "currency": "USD",
            "unit": "bn",
            "years": YEARS,
            "carry_over": True,
        },
        "members": members,
        "areas": areas,
        "policies": [
            {
                "id": "emerging_tech",
                "label": "Emerging tech (AI, autonomy, quantum) gets at "
                "least 15% of each year's total",
                "areas": ["ai", "autonomy", "quantum"],
                "at_least": "15%",
            },
            {
                "id": "support_ukraine",
                "label": "At least 10% of the fund supports Ukraine over the horizon",
                "areas": ["ukraine"],
                "at_least": "10%",
                "per": "horizon",
            },
        ],
        "objective": {"discount_rate": "2%"},
        **aspf_projects(),
    }


def aspf_projects() -> dict:
    """ILLUSTRATIVE go/no-go projects of the ASPF: a jointly funded air-defence programme
    that needs at least five members (with workshares and juste retour), a dependent
    command-and-control project, two mutually exclusive ammunition plants, a northern
    mobility corridor shared by GDP key (World Bank 2023 GDP), a partially fundable
    quantum network. Costs, values, workshares and members are assumptions."""
    wdi = pd.read_csv(HERE / "worldbank_wdi_gdp_nato_partners.csv")
    nordic = ["DNK", "FIN", "NOR", "SWE"]
    gdp = wdi[(wdi["year"] == 2023) & wdi["iso3"].isin(nordic)].set_index("iso3")
    return {
        "projects": [
            {
                "id": "integrated_air_defence",
                "name": "Integrated air and missile defence programme (joint)",
                "area": "capability",
                "cost": {2026: "2bn", 2027: "4bn", 2028: "4bn", 2029: "3bn", 2030: "2bn"},
                "value": 30,
                "members": ["DEU", "ESP", "FRA", "GBR", "ITA", "NLD", "POL"],
                "coalition": {"min_members": 5, "min_stake": "3%"},
                "workshare": {
                    "DEU": "25%",
                    "FRA": "20%",
                    "ITA": "15%",
                    "GBR": "15%",
                    "NLD": "10%",
                    "POL": "10%",
                    "ESP": "5%",
                },
            },
            {
                "id": "air_defence_c2",
                "name": "Air-defence command and control",
                "area": "capability",
                "cost": {2027: "0.5bn", 2028: "0.5bn"},
                "value": 2.5,
                "needs": ["integrated_air_defence"],
            },
            {
                "id": "ammo_plant_pol",
                "name": "155 mm ammunition plant (Poland site)",
                "area": "ukraine",
                "cost": {2026: "1.5bn", 2027: "1.5bn"},
                "value": 5,
            },
            {
                "id": "ammo_plant_rou",
                "name": "155 mm ammunition plant (Romania site)",
                "area": "ukraine",
                "cost": {2026: "1.4bn", 2027: "1.4bn"},
                "value": 4.6,
            },
            {
                "id": "northern_mobility",
                "name": "Northern military mobility corridor",
                "area": "infrastructure",
                "cost": {2027: "0.8bn", 2028: "0.8bn", 2029: "0.8bn", 2030: "0.8bn"},
                "value": 6,
                "members": nordic,
                "coalition": {"min_members": 3, "min_stake": "10%"},
            },
            {
                "id": "quantum_network",
                "name": "Quantum-secure communications network",
                "area": "quantum",
                "cost": {2028: "0.5bn", 2029: "0.5bn", 2030: "0.5bn"},
                "value": 3,
                "min_share": "60%",
            },
        ],
        "exclusions": [{"id": "one_ammo_plant", "projects": ["ammo_plant_pol", "ammo_plant_rou"]}],
        "industrial_return": [
            {
                "id": "air_defence_return",
                "label": "Air-defence workshare at least 80% of contribution (10% tolerance)",
                "projects": ["integrated_air_defence"],
                "min_ratio": "80%",
                "tolerance": "10%",
            }
        ],
        "burden_sharing": [
            {
                "id": "nordic_gdp_key",
                "label": "Nordic corridor shared by GDP key, within 5 points",
                "projects": ["northern_mobility"],
                "key": {m: round(float(gdp.loc[m, "gdp_current_usd"]) / 1e9, 1) for m in nordic},
                "tolerance": "5%",
            }
        ],
    }


HEADER = """\
# Alternative Security Partnership Fund (ASPF), default scenario of the planner.
# The ASPF is described in public commentary but not confirmed by NATO: this fund and all
# its figures are illustrative.
# Generated by `python -m datasets.make_scenarios` from datasets/nato_defexp_2014_2024_wide.csv.
# ILLUSTRATIVE ASSUMPTIONS: the fund is $98bn a year with no US money (the United States is
# listed with a zero pledge so that reports show it). The 2026 pledges split $98bn pro rata
# to each ally's 2024 defence expenditure (NATO, current US$, estimates) and are held flat
# over 2026-2030 unless a forecast is supplied. Iceland reports no defence expenditure to
# NATO and pledges 0. Priorities, floors, ceilings, value curves, opt-outs and policies are
# illustrative, not agreed figures. Value points: marginal value per $1bn, times priority.
"""


def nif() -> dict:
    """The NATO Innovation Fund: EUR 1bn from its 24 Limited Partners."""
    part = pd.read_csv(HERE / "nato_innovation_fund_participants.csv")
    lps = part[part["limited_partner_2024_onward"] == 1].sort_values("iso3")
    known = {
        r.iso3: r.known_commitment_eur_m * 1e6
        for r in lps.itertuples()
        if pd.notna(r.known_commitment_eur_m)
    }
    rest = (1e9 - sum(known.values())) / (len(lps) - len(known))
    members = []
    for r in lps.itertuples():
        total = known.get(r.iso3, rest)
        members.append({"id": r.iso3, "name": r.country, "pledge": f"{total / 15 / 1e6:.3f}m"})
    areas = [
        {
            "id": i,
            "name": n,
            "priority": p,
            "value_curve": [
                {"up_to": f"{c}m", "marginal": 1.0},
                {"up_to": f"{2 * c}m", "marginal": 0.5},
                {"marginal": 0.1},
            ],
        }
        for i, n, p, c in [
            ("ai", "Artificial intelligence", 1.2, 15),
            ("autonomy", "Autonomous systems", 1.1, 12),
            ("quantum", "Quantum technologies", 1.0, 8),
            ("materials", "Advanced materials", 0.8, 8),
            ("energy", "Energy and propulsion", 0.9, 8),
        ]
    ]
    members_opt = {"TUR": ["quantum"], "HUN": ["autonomy"]}
    for m in members:
        if m["id"] in members_opt:
            m["opt_out"] = members_opt[m["id"]]
    return {
        "fund": {
            "name": "NATO Innovation Fund",
            "currency": "EUR",
            "unit": "m",
            "years": [2026, 2027, 2028, 2029, 2030],
            "carry_over": True,
        },
        "members": members,
        "areas": areas,
        "policies": [
            {
                "id": "deep_tech",
                "label": "Quantum and materials get at least 20% of each year's investments",
                "areas": ["quantum", "materials"],
                "at_least": "20%",
            }
        ],
    }


NIF_HEADER = """\
# NATO Innovation Fund (NIF), a second example scenario (currency EUR, unit millions).
# Generated by `python -m datasets.make_scenarios` from
# datasets/nato_innovation_fund_participants.csv.
# The 24 Limited Partners back EUR 1bn over 15 years. Only the Netherlands' (EUR 55m) and
# Poland's (EUR 42m) commitments are public; the rest is split EQUALLY as an ILLUSTRATIVE
# ASSUMPTION, and each commitment is spread evenly over 15 years (one fifteenth a year).
# Areas, priorities, value curves and opt-outs are illustrative.
"""


def main() -> None:
    """Write datasets/scenarios/aspf-2026.yaml and nif.yaml."""
    out = HERE / "scenarios"
    out.mkdir(exist_ok=True)
    for name, header, data in (("aspf-2026.yaml", HEADER, aspf()), ("nif.yaml", NIF_HEADER, nif())):
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        (out / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
