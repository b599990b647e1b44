"""Coalition economics: members' own priorities, what each member's money buys, stability.

- :mod:`engine.coalition.ahp`: pairwise comparisons, principal-eigenvector weights, Saaty's
  consistency ratio;
- :mod:`engine.coalition.elicitation`: the ``priorities`` field of a member (scenario data);
- :mod:`engine.coalition.priorities`: members' weights and the fund's aggregate priorities;
- :mod:`engine.coalition.members`: each member's flows, project shares, value of the plan,
  standalone value and the marginal value of its pledge;
- :mod:`engine.coalition.stability`: who would be better off outside, participation
  constraints and the price of stability, what drives instability, burden-sharing bands.

This package's ``__init__`` imports nothing: the formulation reads
:mod:`engine.coalition.priorities` without loading the solving stack.
"""
