"""A project's pairs as the agreement report reads them: items with human votes and a reference.

The labels come from :mod:`server.labels` (the one meaning of a stored label); this module adds what
agreement needs on top: the human votes that count for a rubric version or a criterion, and the human
reference of each pair (adjudicated outcome, else the strict majority of the votes).

>>> from server.labels import PairLabels, RankingLabel
>>> project = Project(1, "p", [PairLabels(1, rankings=(RankingLabel("ann", "a"), RankingLabel("bob", "a")))], None)
>>> [item.reference for item in project.items(None)]
['a']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rubrics.outcomes import OUTCOMES, Outcome, strict_majority
from rubrics.versions import version_key
from server.labels import Judgement, PairLabels, RankingLabel, RubricVersionRef, VerdictLabel, judgement, read_pairs
from server.storage import Repository

Progress = Callable[[int, int], None]
CODE = {outcome: code for code, outcome in enumerate(OUTCOMES)}


@dataclass
class Item:
    pair: PairLabels
    votes: dict[str, Outcome] = field(default_factory=dict)
    rankings: dict[str, RankingLabel] = field(default_factory=dict)
    reference: Outcome | None = None


Version = RubricVersionRef | None


def version_order(version: Version) -> tuple[bool, str, tuple[Any, ...]]:
    """Unversioned first, then by rubric name and semver (never by id or string)."""
    return (False, "", ()) if version is None else (True, version.name, version_key(version.version))


@dataclass
class Project:
    """A project's pairs and labels as the report reads them (:mod:`server.labels` records)."""

    id: int
    name: str
    pairs: list[PairLabels]
    criterion: str | None

    @property
    def verdicts(self) -> list[VerdictLabel]:
        return [v for pair in self.pairs for v in pair.verdicts]

    @property
    def judges(self) -> dict[str, set[Version]]:
        found: dict[str, set[Version]] = defaultdict(set)
        for verdict in self.verdicts:
            found[verdict.judge].add(verdict.rubric)
        return dict(sorted(found.items()))

    @property
    def criteria(self) -> list[str]:
        """Every criterion id that a ranking or a verdict of the project names."""
        found = {c for pair in self.pairs for r in pair.rankings for c in (r.criteria or {})}
        found |= {c for pair in self.pairs for v in pair.verdicts for c in (v.criteria or {})}
        return sorted(found)

    def outcome(self, ranking: RankingLabel) -> Outcome | None:
        if self.criterion is None:
            return ranking.outcome
        value = (ranking.criteria or {}).get(self.criterion)
        return value if value in CODE else None

    def items(self, versions: set[Version] | None) -> list[Item]:
        """Every pair with its human votes (rankings under `versions`, or all) and the human reference."""
        items = []
        for pair in self.pairs:
            item = Item(pair)
            for ranking in pair.rankings:
                if versions is not None and ranking.rubric not in versions:
                    continue
                outcome = self.outcome(ranking)
                if outcome is not None:
                    item.votes[ranking.annotator], item.rankings[ranking.annotator] = outcome, ranking
            adjudicated = pair.adjudicated if self.criterion is None else None
            item.reference = adjudicated or strict_majority(list(item.votes.values()))
            items.append(item)
        return items

    def judgement(self, pair: PairLabels, judge: str, version: Version) -> Judgement | None:
        """The judge's combined judgement of a pair under one rubric version (:func:`server.labels.judgement`)."""
        return judgement(pair.verdicts, judge, version, self.criterion)


def load_project(
    repo: Repository, project_id: int, criterion: str | None = None, progress: Progress | None = None
) -> Project:
    """Read a project's pairs with their rankings and verdicts (no texts), a page at a time, with progress."""
    project = repo.project(project_id)
    loaded = Project(project.id, project.name, read_pairs(repo, project_id, progress), criterion)
    if criterion is not None and criterion not in loaded.criteria:
        raise ValueError(
            f"criterion: no ranking or verdict in project {project.name!r} has criterion {criterion!r}"
            f" (criteria: {', '.join(loaded.criteria) or 'none'})"
        )
    return loaded


def matrix(items: Sequence[Item], annotators: Sequence[str]) -> list[list[Outcome | None]]:
    """Annotators × items of human votes (None: no vote)."""
    return [[item.votes.get(name) for item in items] for name in annotators]


def annotators_of(items: Sequence[Item]) -> list[str]:
    return sorted({name for item in items for name in item.votes})


def versions_rule(version: Version) -> set[Version]:
    """Rankings counted for a rubric version: made under it, or under no rubric."""
    return {None, version}
