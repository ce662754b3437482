"""Model comparisons from the labels: pair tables, Bradley–Terry ratings, raw and length-controlled win rates.

The pure parts (`comparisons.py`, `ratings.py`, `length.py`) take :class:`Comparison` records and know
nothing of the store; `stored.py` builds those records from a project's labels through the export's label
rule, and `models.py` holds the report's JSON shape.
"""

from server.leaderboard.comparisons import Comparison, pair_counts, win_rate
from server.leaderboard.length import lc_win_rate
from server.leaderboard.ratings import bradley_terry

__all__ = ["Comparison", "bradley_terry", "lc_win_rate", "pair_counts", "win_rate"]
