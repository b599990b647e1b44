"""The hand-written scenario files of tests/test_docs_formulation.py, one documented field
or edge case each (docs/scenario-format.md, docs/projects.md, docs/coalition.md), with the
optima worked out by hand where that is short.
"""

from __future__ import annotations

#: Hand-written files, one documented field or edge case each: name -> (YAML, value by hand).
CASES: dict[str, tuple[str, float | None]] = {
    "member_pledging_zero_and_per_year_pledge_with_gaps": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0}
- {id: CCC, pledge: {2026: 4bn, 2028: 1bn}, opt_out: [b]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 2}, {marginal: 0.5}]}
- {id: b, priority: 2, value_curve: [{up_to: 2bn, marginal: 1}, {up_to: 4bn, marginal: 0.5}]}
- {id: c, priority: 0.5}
""",
        45.0,
    ),
    "cap_floor_as_share_and_ceiling_as_share": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn, caps: {a: 2bn}}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: 25%, ceiling: 40%}
- {id: c, priority: 0, floor: 1bn}
""",
        None,
    ),
    "plain_number_floor_is_currency_not_a_share": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: 0.25}
""",
        30.0,
    ),
    "absorption_from_a_year_with_zero_funding": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: {2026: 0, 2027: 5bn}}
areas:
- {id: a, priority: 1, absorption: 20%}
- {id: b, priority: 0.5}
""",
        5.0,
    ),
    "absorption_written_as_a_fraction_with_floor": (
        """\
fund: {name: T, years: [2026, 2027, 2028]}
members:
- {id: AAA, pledge: {2026: 1bn, 2027: 5bn}}
areas:
- {id: a, priority: 1, absorption: 0.2, floor: 0.5bn}
- {id: b, priority: 0.5}
""",
        None,
    ),
    "carry_over_true_bounded_curve_discounted": (
        """\
fund: {name: T, years: [2026, 2027, 2028], carry_over: true}
members:
- {id: AAA, pledge: {2026: 9bn, 2027: 0, 2028: 0}}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}]}
objective: {discount_rate: 5%}
""",
        3 + 3 / 1.05 + 3 / 1.05**2,
    ),
    "policies_with_and_without_members_per_year_and_horizon": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 6bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
- {id: c, priority: 2}
policies:
- {id: p1, areas: [b], at_least: 20%}
- {id: p2, areas: [b, c], members: [BBB], at_least: 3bn, per: horizon}
- {id: p3, areas: [a], at_most: 30%, per: horizon}
- {id: p4, members: [AAA], areas: [c], at_most: 1bn}
- {id: p5, at_most: 14bn}
objective: {discount_rate: 0.1}
""",
        None,
    ),
    "floor_above_every_pledge_is_infeasible": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 1bn}
areas:
- {id: a, floor: 2bn}
""",
        None,
    ),
    "member_weights_stated_by_one_member": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {weights: {a: 3, b: 1}}}
- {id: BBB, pledge: 5bn, opt_out: [a]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: b, priority: 2, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: c, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
""",
        None,
    ),
    "member_weights_rule_without_stated_priorities": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 5bn, opt_out: [a]}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
- {id: b, priority: 2, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.2}]}
objective: {member_weights: equal}
""",
        13.5,
    ),
    "silent_member_values_joined_areas_normalised": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {weights: {a: 1}}}
- {id: BBB, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 5}
- {id: c, priority: 1}
""",
        80.0,
    ),
    "swing_and_weights_priorities_equal_rule": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, priorities: {swing: {a: 100, b: 60}}}
- {id: BBB, pledge: 4bn, priorities: {weights: {c: 2, b: 1}}}
areas:
- {id: a, priority: 1, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
- {id: b, priority: 5, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
- {id: c, priority: 1, value_curve: [{up_to: 5bn, marginal: 1}, {marginal: 0.1}]}
objective: {member_weights: equal}
""",
        None,
    ),
    "pledge_rule_with_opt_in": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn, opt_in: [a]}
- {id: BBB, pledge: 10bn}
areas:
- {id: a, priority: 1}
- {id: b, priority: 5}
objective: {member_weights: pledge}
""",
        None,
    ),
    "pledge_years_outside_the_horizon": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: {2025: 3bn, 2026: 1bn, 2030: 9bn}}
areas:
- {id: a}
""",
        2.0,
    ),
    "cap_on_an_area_not_joined": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 3bn, opt_out: [a], caps: {a: 1bn}}
areas:
- {id: a}
- {id: b}
""",
        3.0,
    ),
    "opt_in_empty_joins_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 3bn, opt_in: []}
- {id: BBB, pledge: 3bn}
areas:
- {id: a}
""",
        3.0,
    ),
    "horizon_with_gaps_steps_pledges_through_unlisted_years": (
        """\
fund: {name: T, years: [2026, 2028, 2031]}
members:
- {id: AAA, pledge: {2026: 2bn, 2027: 10bn, 2031: 10bn}}
areas:
- {id: a, absorption: 50%}
- {id: b, priority: 0.1}
objective: {discount_rate: 10%}
""",
        None,
    ),
    "member_policies_as_shares_of_the_fund_total": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 6bn, opt_out: [a]}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
policies:
- {id: p1, members: [BBB], at_most: 10%}
- {id: p2, members: [AAA], at_least: 50%, per: horizon}
""",
        None,
    ),
    "bounded_curve_floor_above_last_up_to": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 100bn}
areas:
- {id: a, floor: 10bn, value_curve: [{up_to: 3bn, marginal: 1}, {up_to: 5bn, marginal: 0}]}
- {id: b, ceiling: 50%, value_curve: [{up_to: 3bn, marginal: 1}]}
""",
        6.0,
    ),
    "unit_m_plain_currency_and_bn_suffix": (
        """\
fund: {name: T, years: [2026], unit: m, currency: EUR}
members:
- {id: AAA, pledge: 100000000}
- {id: BBB, pledge: 0.05bn}
areas:
- {id: a, value_curve: [{up_to: 20000000, marginal: 2}, {marginal: 1}]}
- {id: b, priority: 1.5, ceiling: 30m}
""",
        185.0,
    ),
    "policy_over_an_empty_area_list_is_a_group_of_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a}
policies:
- {id: p2, areas: [], at_least: 1bn}
""",
        None,
    ),
    "policy_over_an_empty_member_list_is_a_group_of_nothing": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a}
policies:
- {id: p2, members: [], at_least: 1bn}
""",
        None,
    ),
    "policy_naming_a_member_pledging_zero": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0}
areas:
- {id: a}
policies:
- {id: p, members: [BBB], at_least: 1bn}
""",
        None,
    ),
    "policy_with_both_bounds": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- {id: AAA, pledge: 10bn}
- {id: BBB, pledge: 0, opt_in: [a]}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1}
policies:
- {id: p1, areas: [a], at_least: 10%, at_most: 30%}

""",
        32.0,
    ),
    "limit_in_the_schema_object_form_as_a_share": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: {share: 0.25}}
""",
        25.0,
    ),
    "limit_in_the_schema_object_form_as_currency": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10bn}
areas:
- {id: a, priority: 3}
- {id: b, priority: 1, floor: {amount: 4000000000}}
""",
        22.0,
    ),
    "amount_suffix_upper_case_and_spaced": (
        """\
fund: {name: T, years: [2026]}
members:
- {id: AAA, pledge: 10BN}
areas:
- {id: a, priority: 3}
""",
        30.0,
    ),
}

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
