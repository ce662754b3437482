"""Store validated import rows in one transaction, adding only what is not there yet.

Idempotent by natural keys: a prompt by its content hash, a response by (prompt, text hash), a pair
by its external id (or the hash of its prompt and responses), a ranking by (pair, annotator), a
verdict by (pair, judge, order). Any bad row aborts the whole import unless `skip_invalid`.

Imported labels belong to import-only annotators: no token, named `<namespace>/<name>` (the
project's name unless the file's name already has one, like `pandalm/annotator1`). Account names
cannot hold a `/`, so no import can attribute a ranking to a person who signs in; only an admin may
import labels as existing accounts (`labels_as_accounts`). A row whose id names an existing pair with
other texts is an error, not a merge.

>>> imported_name("team", "r1b"), imported_name("team", "pandalm/annotator1")
('team/r1b', 'pandalm/annotator1')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from server.imports.pandalm import read_pandalm
from server.imports.readers import ImportFailed, apply_mapping, detect_preset, read_records
from server.imports.schema import ImportRow, ImportSummary
from server.storage import Repository, Store
from server.storage.records import Project, Prompt, Response
from server.storage.repos.annotators import Person
from server.storage.repository import digest

if TYPE_CHECKING:  # Presidio and spaCy take seconds to import: only `--deidentify` loads them
    from server.imports.deidentify import Deidentifier


def imported_name(project: str, name: str) -> str:
    """The import-only annotator a label's `name` belongs to in `project`."""
    return name if "/" in name else f"{project}/{name}"


def describe(error: ValidationError) -> str:
    """One line per problem, naming the field: `labels.0.outcome: Input should be 'a', 'b' or 'tie'`."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "row"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)


def validate_rows(
    records: Iterable[tuple[str, Any]], mapping: dict[str, str], *, skip_invalid: bool
) -> tuple[list[tuple[str, ImportRow]], list[str]]:
    """Validate every record before anything is written; return (location, row) and the skipped locations."""
    rows: list[tuple[str, ImportRow]] = []
    skipped: list[str] = []
    for location, record in records:
        try:
            rows.append((location, ImportRow.model_validate(apply_mapping(record, mapping))))
        except ValidationError as exc:
            message = f"{location}: {describe(exc)}"
            if not skip_invalid:
                raise ImportFailed(message) from None
            skipped.append(message)
    return rows, skipped


IMPORT_BATCH = 500  # rows per write transaction


class _Importer:
    """Writes rows into one project inside the caller's transaction, tracking what it added."""

    def __init__(
        self, repo: Repository, project: Project, summary: ImportSummary, *, labels_as_accounts: bool = False
    ) -> None:
        self.repo, self.project, self.summary = repo, project, summary
        self.labels_as_accounts = labels_as_accounts
        self.prompts = repo.prompt_hashes(project.id)
        self.responses = repo.responses_by_hash(project.id)
        self.pairs = repo.pair_keys(project.id)
        self.rankings = repo.ranking_keys(project.id)
        self.verdicts = repo.verdict_keys(project.id)
        self.annotators: dict[str, Person] = {}

    def prompt(self, row: ImportRow) -> Prompt:
        messages = row.messages()
        key = digest(messages)
        if key not in self.prompts:
            self.prompts[key] = self.repo.add_prompt(
                self.project.id, messages, is_chat=row.is_chat, reference=row.reference
            )
            self.summary.prompts += 1
        return self.prompts[key]

    def response(self, prompt: Prompt, text: str, model: str | None) -> Response:
        key = (prompt.id, digest(text))
        if key not in self.responses:
            source = f"model:{model}" if model else "import"
            self.responses[key] = self.repo.add_response(prompt.id, text, source=source)
            self.summary.responses += 1
        return self.responses[key]

    def annotator(self, name: str) -> Person:
        if name not in self.annotators:
            if self.labels_as_accounts:
                found = self.repo.annotator_by_name(name)
                if found is None:
                    raise ImportFailed(f"labels: no account named {name!r} (labels_as_accounts names accounts)")
            else:
                stored = imported_name(self.project.name, name)
                found = self.repo.annotator_by_name(stored)
                if found is None:
                    found, _ = self.repo.create_annotator(stored, "reviewer", with_token=False)
                    self.summary.annotators += 1
                elif not self.repo.is_import_only(found.id):
                    raise ImportFailed(f"labels: {stored!r} is an account, not an import-only annotator")
            self.repo.add_member(self.project, found, "reviewer")
            self.annotators[name] = found
        return self.annotators[name]

    def add(self, location: str, row: ImportRow) -> None:
        prompt = self.prompt(row)
        if row.response_a is None or row.response_b is None:
            return
        a, b = self.response(prompt, row.response_a, row.model_a), self.response(prompt, row.response_b, row.model_b)
        key = "import:" + (row.id or digest([prompt.content_hash, a.content_hash, b.content_hash]))
        pair = self.pairs.get(key)
        if pair is not None and (pair.prompt_id, pair.response_a_id, pair.response_b_id) != (prompt.id, a.id, b.id):
            raise ImportFailed(f"{location}: id {row.id!r} is pair {pair.id}, which has another prompt or responses")
        if pair is None:
            # One response per text: a text two models wrote keeps the first one's source, so the pair
            # itself records which model wrote each side (what the leaderboard reads first).
            meta = row.meta | ({"models": row.models()} if row.models() else {})
            pair = self.pairs[key] = self.repo.add_pair(self.project.id, prompt.id, a, b, key=key, meta=meta)
            self.summary.pairs += 1
        for label in row.labels:
            annotator = self.annotator(label.annotator)
            if (pair.id, annotator.id) in self.rankings:
                continue
            self.repo.add_ranking(
                project_id=self.project.id,
                pair_id=pair.id,
                annotator_id=annotator.id,
                outcome=label.outcome,
                strength=label.strength,
                rationale=label.rationale,
                source="import",
            )
            self.rankings.add((pair.id, annotator.id))
            if self.labels_as_accounts:  # the person's open assignment of this pair is answered now
                self.repo.close_pending_for_pair(self.project.id, pair.id, annotator.id)
            self.summary.rankings += 1
        for verdict in row.verdicts:
            vkey = digest(["import", self.project.id, key, verdict.judge, verdict.order])
            if vkey in self.verdicts:
                continue
            self.repo.add_verdict(
                key=vkey,
                project_id=self.project.id,
                pair_id=pair.id,
                judge_model=verdict.judge,
                order=verdict.order,
                outcome=verdict.outcome,
                confidence=verdict.confidence,
                rationale=verdict.rationale,
                raw=verdict.raw,
                error=verdict.error,
                meta=verdict.meta,
                source="import",
            )
            self.verdicts.add(vkey)
            self.summary.verdicts += 1
            self.summary.failed_verdicts += verdict.error is not None


def import_rows(
    store: Store,
    records: Iterable[tuple[str, Any]],
    *,
    project: str,
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    actor: Person | None = None,
    progress: Callable[[int, int], None] | None = None,
    origin: dict[str, Any] | None = None,
    labels_as_accounts: bool = False,
    deidentify: Deidentifier | None = None,
) -> ImportSummary:
    """Validate (location, record) pairs, then store them in `project` (created if missing).

    With `deidentify`, every row's texts are de-identified before anything is written, so the store
    (rows and audit events alike) never holds the original text; the project records it.

    Every row is validated, and every row id checked against the project's pairs, before anything is
    written; then the rows are written in transactions of `IMPORT_BATCH` rows, so a large import
    never holds the write lock for long and other writers queue between its batches.
    """
    rows, skipped = validate_rows(records, mapping or {}, skip_invalid=skip_invalid)
    summary = ImportSummary(project=project, skipped=len(skipped), skipped_rows=skipped)
    if deidentify is not None:
        rows = scrub_rows(rows, deidentify, summary)
    with store.write() as session:
        target = Repository(session, actor).get_or_create_project(project)
        record_deidentification(Repository(session, actor), target, deidentify)
    with store.read() as session:
        check_ids(rows, Repository(session).pair_texts(target.id))
    importer: _Importer | None = None
    for start in range(0, max(len(rows), 1), IMPORT_BATCH):
        with store.write() as session:
            repo = Repository(session, actor)
            if importer is None:
                importer = _Importer(repo, target, summary, labels_as_accounts=labels_as_accounts)
            importer.repo = repo
            for number, (location, row) in enumerate(rows[start : start + IMPORT_BATCH], start=start + 1):
                importer.add(location, row)
                if progress:
                    progress(number, len(rows))
    with store.write() as session:
        Repository(session, actor).record(
            "project.import",
            target,
            project_id=target.id,
            after=summary.model_dump(exclude={"skipped_rows"}) | (origin or {}),
        )
    return summary


def scrub_rows(
    rows: list[tuple[str, ImportRow]], deidentify: Deidentifier, summary: ImportSummary
) -> list[tuple[str, ImportRow]]:
    """The rows de-identified; the summary counts the placeholders written by type."""
    counts: Counter[str] = Counter()
    clean = []
    for location, row in rows:
        scrubbed, found = deidentify.row(row)
        clean.append((location, scrubbed))
        counts.update(found)
    summary.deidentified, summary.replaced = True, dict(sorted(counts.items()))
    return clean


def record_deidentification(repo: Repository, project: Project, deidentify: Deidentifier | None) -> None:
    """Mark the project de-identified (and by which recognisers); refuse raw rows into a de-identified one.

    `whole_project` is true when the first de-identified import found the project empty: then nothing
    in it was ever stored un-de-identified.
    """
    marked = project.settings.get("deidentified")
    if deidentify is None:
        if marked:
            raise ImportFailed(f"project {project.name!r} holds de-identified data: import into it with --deidentify")
        return
    whole = marked["whole_project"] if marked else repo.project_counts(project.id)["prompts"] == 0
    used = sorted(set(deidentify.recognizers) | set(marked["recognizers"] if marked else []))
    if marked != {"whole_project": whole, "recognizers": used}:
        repo.update_project_settings(project, {"deidentified": {"whole_project": whole, "recognizers": used}})


def check_ids(rows: list[tuple[str, ImportRow]], stored: dict[str, tuple[str, str, str]]) -> None:
    """Refuse a row whose id names a pair (stored, or earlier in the rows) with other texts."""
    seen = dict(stored)
    for location, row in rows:
        if row.id is None or row.response_a is None or row.response_b is None:
            continue
        texts = (digest(row.messages()), digest(row.response_a), digest(row.response_b))
        known = seen.setdefault("import:" + row.id, texts)
        if known != texts:
            raise ImportFailed(f"{location}: id {row.id!r} is already a pair with another prompt or responses")


def import_path(
    store: Store,
    path: Path,
    *,
    project: str,
    preset: str | None = None,
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    actor: Person | None = None,
    progress: Callable[[int, int], None] | None = None,
    labels_as_accounts: bool = False,
    deidentify: Deidentifier | None = None,
) -> ImportSummary:
    """Import a file or folder (JSONL, CSV, Parquet, `datasets` folder, or a preset's folder).

    The preset is guessed when not given: a folder with PandaLM's `testset-v1.json` is `pandalm`.
    """
    preset = preset or ("pandalm" if (path / "testset-v1.json").is_file() else detect_preset(path))
    records = read_pandalm(path) if preset == "pandalm" else read_records(path, preset)
    return import_rows(
        store,
        records,
        project=project,
        mapping=mapping,
        skip_invalid=skip_invalid,
        actor=actor,
        progress=progress,
        origin={"path": str(path), "preset": preset},
        labels_as_accounts=labels_as_accounts,
        deidentify=deidentify,
    )
