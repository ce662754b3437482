"""Export: turn the project's labels into a TRL-ready dataset (DPO, reward, KTO or SFT) and download it.

The server writes the files and a manifest (what went in, what was dropped and why, checksums); this
screen shows the manifest and offers the zip the server builds. Authors and admins only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from review_ui.client import ApiError
from review_ui.safe_text import no_remote_images
from review_ui.session import client, project, show_error

FORMATS = {
    "dpo": "DPO — prompt, chosen, rejected",
    "reward": "Reward model — prompt, chosen, rejected",
    "kto": "KTO — prompt, completion, label (two rows per pair)",
    "sft": "SFT — messages with the preferred response",
}
SOURCES = {
    "humans": "Reviewers' majority (adjudication wins)",
    "judge": "The judge's verdict",
    "consensus": "Reviewers and judge together",
}


def rubric_refs() -> list[str]:
    """Every published `NAME@VERSION`, newest versions last; empty when the server has no rubrics route."""
    try:
        return [f"{r['name']}@{v}" for r in client().rubrics() for v in r.get("versions", [])]
    except ApiError:
        return []


def options_form() -> dict[str, Any] | None:
    refs = rubric_refs()
    with st.form("export"):
        left, right = st.columns(2)
        fmt = left.selectbox("Format", list(FORMATS), format_func=FORMATS.get, key="export_format")
        source = right.selectbox("Labels from", list(SOURCES), format_func=SOURCES.get, key="export_source")
        rubric = left.selectbox("Rubric version", [None, *refs], format_func=lambda r: r or "any", key="export_rubric")
        judge = right.text_input("Judge model (for judge/consensus labels)", key="export_judge")
        use_min = left.checkbox("Require a minimum agreement", key="export_use_min")
        min_agreement = left.slider("Minimum agreement", 0.0, 1.0, 0.67, 0.01, key="export_min")
        drop_ties = right.checkbox("Drop ties (SFT keeps them as two rows otherwise)", key="export_drop_ties")
        test_size = right.slider("Test split (share of prompts)", 0.0, 0.5, 0.0, 0.05, key="export_test")
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="export_seed")
        submitted = st.form_submit_button("Run export", type="primary")
    if not submitted:
        return None
    return {
        "format": fmt,
        "source": source,
        "rubric": rubric,
        "judge": judge.strip() or None,
        "min_agreement": min_agreement if use_min else None,
        "drop_ties": drop_ties,
        "test_size": test_size,
        "seed": int(seed),
    }


def show_manifest(manifest: dict[str, Any]) -> None:
    cols = st.columns(4)
    cols[0].metric("Pairs in", manifest.get("pairs_in", 0))
    cols[1].metric("Pairs exported", manifest.get("pairs_exported", 0))
    cols[2].metric("Rows", sum((manifest.get("rows") or {}).values()))
    cols[3].metric("Dropped", sum((manifest.get("dropped") or {}).values()))
    dropped = manifest.get("dropped") or {}
    if any(dropped.values()):
        st.bar_chart(pd.DataFrame({"pairs": dropped}), horizontal=True, height=160)
    st.markdown("**Manifest**")
    st.json(manifest, expanded=1)


def main() -> None:
    current = project()
    st.title(f"Export · {current['name']}")
    options = options_form()
    if options is not None:
        try:
            with st.spinner("Exporting…"):
                result = client().export(current["id"], options)
        except ApiError as exc:
            show_error(exc, "Export")
        else:
            st.session_state["export_result"] = (current["id"], result)
            st.session_state.pop("export_zip", None)
    kept = st.session_state.get("export_result")
    if not kept or kept[0] != current["id"]:
        return
    result = kept[1]
    manifest = result.get("manifest", result)
    st.success(
        no_remote_images(
            f"Export {result.get('job', '')} done: {manifest.get('format')} from {manifest.get('source')}."
        )
    )
    show_manifest(manifest)
    job = result.get("job")
    if not job:
        return
    if "export_zip" not in st.session_state:
        try:
            st.session_state["export_zip"] = client().download_export(job)
        except ApiError as exc:
            show_error(exc, "Fetching the export's files")
            return
    data, name = st.session_state["export_zip"]
    st.download_button(
        "Download dataset (zip)", data, file_name=name, mime="application/zip", type="primary", on_click="ignore"
    )


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
