"""Rubrics: every published version, what it asks reviewers and judges, and what changed between two.

A version is immutable and named `NAME@VERSION`; the diff is the server's semantic diff (criteria
added, removed and changed field by field), so authors see what a new version means for agreement.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from review_ui.client import ApiError
from review_ui.safe_text import no_remote_images
from review_ui.session import client, show_error


def _cell(value: Any) -> str:
    """A table cell: text as is, anything nested as compact JSON.

    >>> _cell("x"), _cell({"min": 1}), _cell(None)
    ('x', '{"min": 1}', '')
    """
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def criteria_table(rubric: dict[str, Any]) -> pd.DataFrame:
    """The rubric's criteria, one row each, nested values (scales, anchors) as JSON text."""
    return pd.DataFrame([{k: _cell(v) for k, v in c.items()} for c in rubric.get("criteria", [])])


def change_rows(changed: list[Any]) -> pd.DataFrame:
    """`criteria_changed` entries as rows of (criterion, field, old, new), whatever form `fields` takes.

    >>> change_rows([{"id": "safety", "fields": {"weight": {"old": 1, "new": 2}}}]).values.tolist()
    [['safety', 'weight', '1', '2']]
    >>> change_rows([{"id": "tone", "fields": ["description"]}]).values.tolist()
    [['tone', 'description', '', '']]
    """
    rows = []
    for entry in changed:
        if not isinstance(entry, dict):
            rows.append({"criterion": _cell(entry), "field": "", "old": "", "new": ""})
            continue
        fields = entry.get("fields", {})
        if isinstance(fields, dict):
            for name, change in fields.items():
                old, new = (change.get("old"), change.get("new")) if isinstance(change, dict) else (change, None)
                rows.append({"criterion": entry.get("id", ""), "field": name, "old": _cell(old), "new": _cell(new)})
        else:
            for name in fields:
                rows.append({"criterion": entry.get("id", ""), "field": _cell(name), "old": "", "new": ""})
    return pd.DataFrame(rows, columns=["criterion", "field", "old", "new"])


def show_version(ref: str) -> None:
    name, version = ref.rsplit("@", 1)
    try:
        shown = client().rubric_version(name, version)
    except ApiError as exc:
        show_error(exc, f"Loading {ref}")
        return
    rubric = shown.get("rubric", {})
    digest = str(shown.get("sha256", ""))[:12]
    st.caption(f"{shown.get('ref', ref)} · sha256 {digest} · published {shown.get('published_at')}")
    if rubric.get("description"):
        st.markdown(no_remote_images(rubric["description"]))
    table = criteria_table(rubric)
    if not table.empty:
        st.dataframe(table, hide_index=True, width="stretch")
    if shown.get("guidelines"):
        with st.expander("Reviewer guidelines", expanded=False):
            st.markdown(no_remote_images(shown["guidelines"]))


def show_diff(old: str, new: str) -> None:
    try:
        diff = client().rubric_diff(old, new)
    except ApiError as exc:
        show_error(exc, f"Diff {old} → {new}")
        return
    added, removed = diff.get("criteria_added") or [], diff.get("criteria_removed") or []
    changed = diff.get("criteria_changed") or []
    cols = st.columns(3)
    cols[0].metric("Criteria added", len(added))
    cols[1].metric("Criteria removed", len(removed))
    cols[2].metric("Criteria changed", len(changed))
    for criterion in added:
        st.success(
            no_remote_images(
                f"added: {_cell(criterion if not isinstance(criterion, dict) else criterion.get('id', criterion))}"
            )
        )
    for criterion in removed:
        st.error(
            no_remote_images(
                f"removed: {_cell(criterion if not isinstance(criterion, dict) else criterion.get('id', criterion))}"
            )
        )
    if changed:
        st.dataframe(change_rows(changed), hide_index=True, width="stretch")
    rest = {k: v for k, v in diff.items() if k not in {"criteria_added", "criteria_removed", "criteria_changed"}}
    if any(v for v in rest.values()):
        st.markdown("**Other changes**")
        st.json(rest, expanded=True)
    if not (added or removed or changed or any(v for v in rest.values())):
        st.info("No semantic difference between these versions.")


def main() -> None:
    st.title("Rubrics")
    try:
        rubrics = client().rubrics()
    except ApiError as exc:
        show_error(exc, "Listing rubrics")
        return
    if not rubrics:
        st.info("No rubric is published yet: `rubricate rubric publish FILE.yaml`.")
        return
    st.dataframe(
        pd.DataFrame([{"rubric": r["name"], "versions": ", ".join(r.get("versions", []))} for r in rubrics]),
        hide_index=True,
        width="stretch",
    )
    refs = [f"{r['name']}@{v}" for r in rubrics for v in r.get("versions", [])]
    if not refs:
        return
    st.subheader("A version")
    show_version(st.selectbox("Version", refs, index=len(refs) - 1, key="rubric_show"))
    st.subheader("Compare two versions")
    left, right = st.columns(2)
    old = left.selectbox("Old", refs, index=max(len(refs) - 2, 0), key="rubric_old")
    new = right.selectbox("New", refs, index=len(refs) - 1, key="rubric_new")
    if old == new:
        st.caption("Pick two different versions to see what changed.")
    else:
        show_diff(old, new)


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
