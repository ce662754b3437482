"""A figure with its bootstrap interval (:class:`Estimate`) and how intervals are drawn (:class:`Bootstrap`).

Every part of the agreement report (:mod:`server.agreement.models`) states a figure as one ``Estimate``
(``{"value", "low", "high"}``), never a value and a twin ``_ci`` field.

>>> Estimate.of(0.5, None).model_dump()
{'value': 0.5, 'low': None, 'high': None}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from server.agreement.metrics import Interval, bootstrap


def number(value: Any) -> float | None:
    """A JSON number: None for None, nan and inf.

    >>> number(np.float64(0.25)), number(float("nan")), number(None)
    (0.25, None, None)
    """
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


class Estimate(BaseModel):
    """A figure and its percentile bootstrap interval (``low``/``high`` None: no interval was drawn)."""

    model_config = ConfigDict(frozen=True)
    value: float | None
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, value: Any, interval: Interval | None) -> Estimate:
        """A value (nan/inf become None) with an interval from :func:`server.agreement.metrics.bootstrap`."""
        if interval is None:
            return cls(value=number(value))
        return cls(value=number(value), low=interval.low, high=interval.high)

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.low is None or self.high is None else (self.low, self.high)


class Bootstrap(BaseModel):
    """How intervals are drawn: resamples over pairs, coverage and seed (one value, passed around).

    >>> import numpy as np
    >>> features = np.array([[1.0, 1.0]] * 8 + [[0.0, 1.0]] * 2)
    >>> [e.value for e in Bootstrap(resamples=0).estimates(features, lambda s: s[:, 0] / s[:, 1])]
    [0.8]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    resamples: int = Field(default=1000, ge=0, le=20_000, description="Bootstrap resamples (0: no intervals).")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="Coverage of the intervals.")
    seed: int = Field(default=0, description="Seed of the bootstrap.")

    def intervals(self, features: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray]) -> list[Interval | None]:
        """:func:`server.agreement.metrics.bootstrap` under these settings."""
        return bootstrap(features, statistic, resamples=self.resamples, confidence=self.confidence, seed=self.seed)

    def estimates(self, features: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray]) -> list[Estimate]:
        """The statistic over all items with its interval, one :class:`Estimate` per statistic column."""
        point = np.asarray(statistic(features.sum(axis=0, keepdims=True)), dtype=float).reshape(-1)
        return [Estimate.of(v, i) for v, i in zip(point, self.intervals(features, statistic), strict=True)]
