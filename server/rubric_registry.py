"""Published rubric versions: publish under the rules in `rubrics.versions`, resolve `name[@version]`.

Publishing the same content again is a no-op; different content under a published version is
refused with a message to bump the version. Verdicts and rankings reference the stored version row.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from rubrics.schema import Rubric
from rubrics.versions import VersionConflict, check_publish, content_hash, parse_ref, version_key
from server.storage import Conflict, NotFound, Repository, Store
from server.storage.records import RubricVersion
from server.storage.repos.annotators import Person


class Published(BaseModel):
    ref: str
    sha256: str
    status: Literal["new", "unchanged"]
    id: int


def publish(store: Store, rubric: Rubric, actor: Person | None = None) -> Published:
    """Publish `rubric` as `name@version` (idempotent for identical content)."""
    with store.write() as session:
        repo = Repository(session, actor)
        existing = {v.version: v for v in repo.rubric_versions(rubric.name)}
        try:
            status = check_publish({v: row.content_hash for v, row in existing.items()}, rubric)
        except VersionConflict as exc:
            raise Conflict(str(exc)) from None
        if status == "unchanged":
            row = existing[rubric.version]
        else:
            row = repo.add_rubric_version(
                rubric.name, rubric.version, rubric.model_dump(mode="json"), content_hash(rubric)
            )
        return Published(ref=rubric.ref, sha256=row.content_hash, status=status, id=row.id)


def resolve(repo: Repository, ref: str) -> tuple[RubricVersion, Rubric]:
    """The stored version for `name@version`, or the newest published version for a bare `name`."""
    name, version = parse_ref(ref)
    versions = repo.rubric_versions(name)
    if not versions:
        raise NotFound(f"rubric {name!r} has no published version (rubricate rubric publish FILE)")
    if version is None:
        row = max(versions, key=lambda v: version_key(v.version))
    else:
        matches = [v for v in versions if v.version == version]
        if not matches:
            known = ", ".join(v.version for v in versions)
            raise NotFound(f"rubric {name}@{version} is not published (published: {known})")
        row = matches[0]
    return row, Rubric.model_validate(row.content)
