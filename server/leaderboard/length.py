"""AlpacaEval 2's length-controlled win rate: what the win rate would be if both responses were as long.

Dubois et al. (2024, "Length-Controlled AlpacaEval") fit, per model against its baseline, a logistic
regression (a GLM) of the preference on the model's identity and the normalised length difference
tanh((len_model − len_other) / std), then predict with the length difference set to 0 and average over
the instructions. Here the identity terms are one coefficient per opponent (one, the baseline, when a
baseline is named; every model it met otherwise), the length term is shared, a tie is half a win (two
rows, won and lost, weighted ½ each), and the fit is unpenalised maximum likelihood (scikit-learn,
`C=inf`), so that when the lengths do not differ the length-controlled rate is the raw win rate. The
paper's per-instruction difficulty term is left out: a pair here has no instruction shared across models
to estimate it from but its own two responses.

>>> from server.leaderboard.comparisons import Comparison
>>> same = [Comparison("x", "y", o, 10, 10) for o in ("a", "a", "b", "tie")]
>>> round(lc_win_rate(same, "x"), 6)
0.625
>>> longer_wins = [Comparison("x", "y", "a", 90, 10), Comparison("x", "y", "b", 10, 90)] * 5
>>> longer_wins += [Comparison("x", "y", "a", 50, 50), Comparison("x", "y", "b", 50, 50)]
>>> round(lc_win_rate(longer_wins, "x"), 3), round(lc_win_rate(longer_wins, "x", "y"), 3)
(0.5, 0.5)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from server.leaderboard.comparisons import Comparison, involving


def _design(comparisons: Sequence[Comparison], model: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Opponents, the features per comparison (opponent one-hot, then the length term), scores, lengths."""
    seen = [c.seen_from(model) for c in comparisons]
    opponents = sorted({o for o, _, _ in seen})
    deltas = np.array([d for _, _, d in seen], dtype=float)
    spread = deltas.std()
    length = np.tanh(deltas / spread) if spread > 0 else np.zeros(len(deltas))
    onehot = np.array([[o == name for name in opponents] for o, _, _ in seen], dtype=float)
    return opponents, np.column_stack([onehot, length]), np.array([s for _, s, _ in seen]), length


def lc_win_rate(comparisons: Sequence[Comparison], model: str, baseline: str | None = None) -> float | None:
    """The length-controlled win rate of `model` (against `baseline`, else all it met); None when undefined."""
    if model == baseline:
        return None
    mine = involving(comparisons, model, baseline)
    if not mine:
        return None
    opponents, features, scores, length = _design(mine, model)
    if not length.any():
        features = features[:, :-1]  # no length difference to control for
    rows = np.vstack([features, features])
    won = np.concatenate([np.ones(len(scores)), np.zeros(len(scores))])
    weights = np.concatenate([scores, 1.0 - scores])
    if weights[won == 1].sum() == 0 or weights[won == 0].sum() == 0:
        return float(scores.mean())  # never won or never lost: nothing for a regression to separate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # separation: probabilities near 0 or 1, as they should be
        fit = LogisticRegression(C=np.inf, fit_intercept=False, max_iter=1000, tol=1e-10)
        fit.fit(rows, won, sample_weight=weights)
    identity = features[:, : len(opponents)] @ fit.coef_[0][: len(opponents)]
    return float(np.mean(1.0 / (1.0 + np.exp(-identity))))
