"""How a member states its own priorities over the areas it joined (scenario data).

Three ways, one per member, in the member's ``priorities`` field::

    priorities: {cyber: 3, space: 1}                 # weights (any scale; normalised)
    priorities: {swing: {ukraine: 100, cyber: 40}}   # swing weights: the most valued
                                                     # swing scores 100, others relative
    priorities:                                      # pairwise comparisons (AHP)
      pairwise:
      - [cyber, space, 3]                            # cyber matters 3 times as much
      - [cyber, ai, 1/2]
      - [ai, space, 5]

A plain mapping of areas to numbers is read as ``weights`` and a plain list as
``pairwise``. Areas the member joined but does not name count zero for it. The checks
that need the rest of the scenario (the areas exist and the member joined them, the
comparisons are complete and consistent) are in :mod:`engine.scenario.priority_checks`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.coalition.ahp import parse_ratio
from engine.scenario.fields import Finite, Strict

#: A judgement ``a : b`` on Saaty's scale, written ``3`` or ``"1/3"``.
Ratio = Annotated[float, BeforeValidator(parse_ratio, json_schema_input_type=float | str)]
Weight = Annotated[Finite, Field(ge=0)]

_KEYS = ("weights", "swing", "pairwise")


class MemberPriorities(Strict):
    """A member's priorities: exactly one of ``weights``, ``swing`` or ``pairwise``."""

    weights: dict[str, Weight] | None = None
    swing: dict[str, Annotated[Finite, Field(ge=0, le=100)]] | None = None
    pairwise: list[tuple[str, str, Ratio]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"pairwise": value}
        if isinstance(value, dict) and value and not set(value) & set(_KEYS):
            return {"weights": value}
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The short forms a file may use (``{cyber: 3}`` for weights, a list for pairwise
        # judgements) must pass an outside validator too, not only this model.
        full = handler(core_schema)
        short_weights = {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
            "description": "weights by area, short for {weights: {...}}",
        }
        short_pairwise = {
            "type": "array",
            "items": {"type": "array", "minItems": 3, "maxItems": 3},
            "description": "[area, area, ratio] judgements, short for {pairwise: [...]}",
        }
        return {"anyOf": [full, short_weights, short_pairwise]}

    @model_validator(mode="after")
    def _one_way(self) -> MemberPriorities:
        given = [k for k in _KEYS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of weights, swing or pairwise"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.weights is not None and not any(v > 0 for v in self.weights.values()):
            raise ValueError("weights: at least one area needs a positive weight")
        if self.swing is not None and (not self.swing or max(self.swing.values()) != 100):
            raise ValueError(
                "swing: the most valued area's swing scores 100 and the others 0-100 "
                f"relative to it, got {dict(self.swing or {})}"
            )
        if self.pairwise is not None and not self.pairwise:
            raise ValueError("pairwise: give at least one comparison [area, area, ratio]")
        return self

    @property
    def kind(self) -> str:
        """``weights``, ``swing`` or ``pairwise``."""
        return next(k for k in _KEYS if getattr(self, k) is not None)

    def areas(self) -> list[str]:
        """The areas named, in the order first written."""
        if self.pairwise is not None:
            seen: dict[str, None] = {}
            for a, b, _ in self.pairwise:
                seen.setdefault(a)
                seen.setdefault(b)
            return list(seen)
        return list(self.weights if self.weights is not None else self.swing or {})
