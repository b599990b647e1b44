"""The hand-written LP scenario files of tests/test_docs_formulation.py, one documented
field or edge case each (docs/scenario-format.md, docs/coalition.md), with the optima
worked out by hand where that is short.
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
    "pairwise_priorities_hard_area_no_tie_break": (
        """\
fund: {name: T, years: [2026, 2027]}
members:
- id: AAA
  pledge: 10bn
  priorities:
    pairwise:
    - [a, b, 3]
    - [a, c, 1/2]
    - [c, b, 5]
- {id: BBB, pledge: 6bn, opt_out: [c], priorities: {weights: {a: 1, b: 1}}}
areas:
- {id: a, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.1}], hard: true}
- {id: b, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.1}]}
- {id: c, priority: 2, value_curve: [{up_to: 3bn, marginal: 1}, {marginal: 0.1}]}
objective: {member_weights: equal, tie_break: none, discount_rate: 2%}
""",
        None,
    ),
}
