"""The hand-written go/no-go scenario files of tests/test_docs_formulation.py
(docs/projects.md: pooled and joint projects, min_share, needs, exclusions, coalitions),
with the optima worked out by hand where that is short.
"""

from __future__ import annotations

#: Small go/no-go scenarios (docs/projects.md): pooled projects, min_share, needs, exclusions.
PROJECT_CASES = {
    "projects_min_share_needs_exclusion_discounted": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 5bn}
- {id: BBB, pledge: 3bn, opt_out: [b]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 2bn, marginal: 1}, {marginal: 0.1}]}
- {id: b, priority: 2, value_curve: [{up_to: 1bn, marginal: 1}, {marginal: 0.2}]}
projects:
- {id: p, area: a, cost: {2026: 3bn, 2027: 2bn}, value: 4}
- {id: q, area: b, cost: {2027: 4bn}, value: 3, min_share: 50%}
- {id: r, area: b, cost: {2026: 2bn}, value: 2.5, needs: [p]}
- {id: s, area: a, cost: {2026: 1bn, 2027: 1bn}, value: 1.9}
exclusions:
- {id: one, projects: [p, s]}
objective: {discount_rate: 5%}
""",
    "projects_in_area_floor_share_and_absorption": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 4bn}
areas:
- {id: a, priority: 1, floor: 30%, absorption: 50%}
- {id: b, priority: 0.5}
projects:
- {id: p, area: a, cost: {2026: 3bn}, value: 5}
- {id: q, area: b, cost: {2026: 1bn, 2027: 1bn}, value: 3, min_share: 0.3}
- {id: r, area: b, cost: {2027: 2bn}, value: 2, needs: [q]}
exclusions:
- {id: ex, projects: [p, q, r], at_most: 2}
""",
    "project_discounted_from_its_first_year_with_a_cost": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 1}
projects:
- {id: p, area: b, cost: {2026: 0, 2027: 3bn}, value: 10}
objective: {discount_rate: 100%}
""",
    "project_needing_a_partly_funded_project": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn}
areas:
- {id: a, priority: 0.1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 2, min_share: 25%}
- {id: q, area: a, cost: {2026: 1bn}, value: 5, needs: [p]}
""",
    "project_valued_by_members_priorities": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn, priorities: {weights: {a: 1, b: 3}}}
- {id: BBB, pledge: 5bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 20}
""",
    "exclusion_counts_a_partly_funded_project": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn}
areas:
- {id: a, priority: 0.1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 8, min_share: 10%}
- {id: q, area: a, cost: {2026: 4bn}, value: 8, min_share: 10%}
exclusions:
- {id: one, projects: [p, q]}
""",
    "joint_project_paid_by_listed_members_who_join_its_area": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 3bn}
- {id: BBB, pledge: 2bn}
- {id: CCC, pledge: 4bn, opt_out: [air]}
- {id: DDD, pledge: 0}
areas:
- {id: air, priority: 2, value_curve: [{up_to: 1bn, marginal: 1}, {marginal: 0.1}]}
- {id: land, priority: 1}
projects:
- {id: shield, area: air, cost: {2026: 4bn, 2027: 2bn}, value: 12, members: [AAA, BBB, CCC, DDD]}
- {id: radar, area: air, cost: {2027: 1bn}, value: 3, coalition: {min_members: 2, min_stake: 40%}}
""",
    "coalition_min_members_and_min_amount_with_partial_funding": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 5bn}
- {id: BBB, pledge: 1bn}
- {id: CCC, pledge: 1bn}
areas:
- {id: air, priority: 1}
- {id: land, priority: 0.5}
projects:
- id: big
  area: air
  cost: {2026: 3bn, 2027: 3bn}
  value: 20
  min_share: 20%
  coalition: {min_members: 3, min_stake: 20%}
- {id: mid, area: air, cost: {2026: 2bn}, value: 6, min_share: 50%, coalition: {min_amount: 1.5bn}}
""",
    "one_members_payments_to_two_projects_add_up": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 4bn}
- {id: BBB, pledge: 5bn}
areas:
- {id: air, priority: 1}
projects:
- {id: one, area: air, cost: {2026: 3bn}, value: 10, members: [AAA]}
- {id: two, area: air, cost: {2026: 2bn}, value: 8, members: [AAA]}
""",
    "coalition_min_amount_on_an_all_or_nothing_project": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 5bn}
areas:
- {id: a, priority: 1}
projects:
- {id: p, area: a, cost: {2026: 4bn}, value: 10, coalition: {min_amount: 2bn}}
""",
    "industrial_return_naming_a_member_without_workshare": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 2bn}
- {id: BBB, pledge: 1bn}
- {id: CCC, pledge: 4bn}
areas:
- {id: air, priority: 1, value_curve: [{up_to: 1bn, marginal: 1}, {marginal: 0.05}]}
- {id: land, priority: 0.6}
projects:
- id: jet
  area: air
  cost: {2026: 3bn, 2027: 3bn}
  value: 20
  workshare: {AAA: 70%, BBB: 30%}
industrial_return:
- {id: jr, min_ratio: 100%, tolerance: 0, members: [AAA, BBB, CCC]}
""",
    "industrial_return_members_default_to_the_workshares": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 2bn}
- {id: BBB, pledge: 1bn}
- {id: CCC, pledge: 4bn}
areas:
- {id: air, priority: 1, value_curve: [{up_to: 1bn, marginal: 1}, {marginal: 0.05}]}
- {id: land, priority: 0.6}
projects:
- id: jet
  area: air
  cost: {2026: 3bn, 2027: 3bn}
  value: 20
  workshare: {AAA: 70%, BBB: 30%}
industrial_return:
- {id: jr, min_ratio: 100%, tolerance: 0}
""",
    "burden_sharing_key_within_tolerance": """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 1bn}
- {id: CCC, pledge: 3bn, opt_out: [air]}
areas:
- {id: air, priority: 1}
- {id: land, priority: 1.2}
projects:
- {id: corridor, area: air, cost: {2026: 4bn}, value: 8, min_share: 25%, members: [AAA, BBB]}
burden_sharing:
- {id: key, projects: [corridor], key: {AAA: 1, BBB: 1}, tolerance: 10%}
""",
    "area_coalition_min_members_contribution_and_amount": """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 5bn}
- {id: BBB, pledge: 1bn}
- {id: CCC, pledge: 0.5bn}
areas:
- {id: space, priority: 3, value_curve: [{up_to: 2bn, marginal: 1}, {marginal: 0.2}]}
- {id: land, priority: 1}
area_coalitions:
- {area: space, min_members: 2, min_contribution: 1.5bn, min_amount: 7bn}
""",
    "staged_call_requests_limits_and_a_resource": """\
fund: {name: T, years: [2026, 2027, 2028], unit: m, currency: EUR}
members:
- {id: AAA, pledge: 1m}
areas:
- {id: energy, priority: 1, value_curve: [{up_to: 0.2m, marginal: 0.5}, {marginal: 0.01}]}
- {id: health, priority: 2, value_curve: [{up_to: 0.2m, marginal: 0.5}, {marginal: 0.01}]}
resources:
- {id: lab, capacity: {2027: 1}}
calls:
- id: diana
  area: energy
  stages:
  - {grant: 100k, max_count: 2, uses: {lab: 0.5}}
  - {grant: 300k, min_share: 50%, budget: 400k, uses: {lab: 1}}
  - {grant: 500k, max_count: 1}
  applications:
  - {id: a1, year: 2026, value: [0.3, 1.0, 2.0]}
  - {id: a2, year: 2026, value: [0.2, 0.9, 0.1], area: health, request: [100k, 250k, 0]}
  - {id: a3, year: 2027, value: [0.25, 1.5, 9.0]}
  - {id: a4, year: 2027, value: [0.1, 0.2, 0.3], request: [80k, 200k, 100k]}
projects:
- {id: rig, area: health, cost: {2027: 200k}, value: 0.6, uses: {lab: 1}}
""",
}
#: The project cases' optima worked out by hand (docs/projects.md, "What the model does").
PROJECTS_BY_HAND = {
    "project_discounted_from_its_first_year_with_a_cost": 10 + 10 / 2 + 7 / 2,
    "project_needing_a_partly_funded_project": 0.1 * (0.25 * 2 + 3) + 5 * 0.1,
    "exclusion_counts_a_partly_funded_project": 0.1 * 8 + 0.1 * 1,
    "project_valued_by_members_priorities": 0.75 * 20 + 1.25 * 6,
    "one_members_payments_to_two_projects_add_up": 10 + 1 + 5,
    "coalition_min_amount_on_an_all_or_nothing_project": 10 + 1,
}

#: The project cases' optima worked out by hand (docs/projects.md, "What the model does").
PROJECTS_BY_HAND = {
    "project_discounted_from_its_first_year_with_a_cost": 10 + 10 / 2 + 7 / 2,
    "project_needing_a_partly_funded_project": 0.1 * (0.25 * 2 + 3) + 5 * 0.1,
    "exclusion_counts_a_partly_funded_project": 0.1 * 8 + 0.1 * 1,
    "project_valued_by_members_priorities": 0.75 * 20 + 1.25 * 6,
    "one_members_payments_to_two_projects_add_up": 10 + 1 + 5,
    "coalition_min_amount_on_an_all_or_nothing_project": 10 + 1,
}
