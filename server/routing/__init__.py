"""Certified routing: accept a judge's label only where a calibrated guarantee holds, escalate the rest.

`server.routing.signals` turns verdicts into confidence signals; `server.routing.calibration`
calibrates a threshold per judge (fixed-sequence Clopper–Pearson testing, cascades) and routes pairs;
`server.routing.estimate` gives outcome shares with prediction-powered (PPI++) intervals. Nothing here
touches storage: callers pass plain records in and store the results.

>>> from server.routing import Judgement, PairSignals, Stage, calibrate
>>> pairs = [PairSignals(str(i), {"j": Judgement("a", 1.0)}, reference="a") for i in range(40)]
>>> calibrate(pairs, [Stage("j", "agree")], alpha=0.1, delta=0.1).judges[0].threshold
1.0
"""

from server.routing.calibration import (
    DEFAULT_MIN_N,
    Calibration,
    Decision,
    JudgeCalibration,
    PairSignals,
    RoutingSummary,
    Stage,
    ThresholdChoice,
    calibrate,
    check_levels,
    choose_threshold,
    risk_upper_bound,
    route,
    routed_upper_bound,
    summarize,
)
from server.routing.estimate import Interval, OutcomeShare, OutcomeShares, one_hot, outcome_shares
from server.routing.signals import (
    Judgement,
    OrderProbabilities,
    agreement_ladder,
    agreement_with_others,
    average_preference,
    logprob_confidence,
    order_agreement,
    panel_agreement,
    preference_agreement,
    stated_confidence,
)

__all__ = [
    "DEFAULT_MIN_N",
    "Calibration",
    "Decision",
    "Interval",
    "JudgeCalibration",
    "Judgement",
    "OrderProbabilities",
    "OutcomeShare",
    "OutcomeShares",
    "PairSignals",
    "RoutingSummary",
    "Stage",
    "ThresholdChoice",
    "agreement_ladder",
    "agreement_with_others",
    "average_preference",
    "calibrate",
    "check_levels",
    "choose_threshold",
    "logprob_confidence",
    "one_hot",
    "order_agreement",
    "outcome_shares",
    "panel_agreement",
    "preference_agreement",
    "risk_upper_bound",
    "route",
    "routed_upper_bound",
    "stated_confidence",
    "summarize",
]
