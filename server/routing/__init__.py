"""Certified routing: accept a judge's label only where a calibrated guarantee holds, escalate the rest.

The pure core (plain records in, results out; nothing touches storage): `server.routing.signals` turns
verdicts into confidence signals; `server.routing.threshold` chooses one judge's threshold
(fixed-sequence testing with exact Clopper–Pearson or hypergeometric bounds);
`server.routing.calibration` calibrates a cascade of judges and routes pairs; `server.routing.estimate` gives
outcome shares with prediction-powered (PPI++) intervals; `server.routing.validity` is the split study.

The service around it: `server.routing.labelled` (stored labels → the human reference and each
judge's signal, through server/labels.py), `server.routing.store` (immutable calibration records and
each pair's decision), `server.routing.service` (calibrate / route / estimate a stored project, what
the CLI and API call), `server.routing.queue` (the review queue of a routed project and its audit
sample), `server.routing.audit` (audit agreement per calibration) and `server.routing.store_study`
(the split study through the store).

>>> from server.routing import Judgement, PairSignals, Stage, calibrate
>>> pairs = [PairSignals(str(i), {"j": Judgement("a", 1.0)}, reference="a") for i in range(40)]
>>> calibrate(pairs, [Stage("j", "agree")], alpha=0.1, delta=0.1).judges[0].threshold
1.0
"""

from server.routing.calibration import (
    Calibration,
    Decision,
    JudgeCalibration,
    PairSignals,
    RoutingSummary,
    Stage,
    calibrate,
    route,
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
from server.routing.threshold import (
    DEFAULT_MIN_N,
    ThresholdChoice,
    check_levels,
    choose_threshold,
    risk_upper_bound,
    routed_upper_bound,
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
