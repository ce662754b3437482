"""Adjudicate: the project's disputes, one pair in full (both responses, every ranking and verdict),
and a final label with a note. Authors and admins only.

Here A and B are the pair's stored order (not any reviewer's shown order): rankings and verdicts from
the API are already mapped to it, so everything on this screen speaks about the same A and B.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from review_ui.client import ApiError
from review_ui.safe_text import no_remote_images
from review_ui.session import client, outcome_label, project, show_error

ADJUDICATION_REASONS = {
    "unclear_guideline": "Unclear guideline",
    "ambiguous_item": "Ambiguous item",
    "broken_item": "Broken item",
    "other": "Other",
}


def dispute_rows(disputes: list[dict[str, Any]]) -> pd.DataFrame:
    """One table row per dispute, readable at a glance.

    >>> row = {"pair_id": 4, "rankings": {"x": "a", "y": "b"}, "majority": None,
    ...        "judges": {"j": "a"}, "adjudication": None, "reasons": ["reviewers disagree"]}
    >>> dispute_rows([row]).iloc[0]["rankings"]
    'x: A, y: B'
    """
    return pd.DataFrame(
        [
            {
                "pair": d["pair_id"],
                "rankings": ", ".join(f"{who}: {outcome_label(o)}" for who, o in d["rankings"].items()),
                "majority": outcome_label(d.get("majority")),
                "judges": ", ".join(f"{who}: {outcome_label(o)}" for who, o in d.get("judges", {}).items()),
                "final": outcome_label(d.get("adjudication")),
                "why": "; ".join(d.get("reasons", [])),
            }
            for d in disputes
        ],
        columns=["pair", "rankings", "majority", "judges", "final", "why"],
    )


def show_pair(pair: dict[str, Any]) -> None:
    st.subheader(f"Pair {pair['id']} · {pair['key']}")
    for message in pair["prompt"]:
        with st.chat_message(message.get("role", "user")):
            st.caption(message.get("role", "user").title())
            st.markdown(no_remote_images(message.get("content", "")))
    left, right = st.columns(2, gap="medium")
    for column, side in ((left, "a"), (right, "b")):
        response = pair[f"response_{side}"]
        with column, st.container(border=True):
            st.markdown(no_remote_images(f"### Response {side.upper()}"))
            st.caption(f"source: {response['source']}")
            st.markdown(no_remote_images(response["text"]) or "_(empty response)_")
    st.markdown("**Rankings**")
    rankings = pair.get("rankings") or []
    if rankings:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "annotator": r["annotator"],
                        "outcome": outcome_label(r["outcome"]),
                        "strength": r.get("strength"),
                        "mode": r.get("mode"),
                        "source": r.get("source"),
                        "rationale": r.get("rationale") or "",
                    }
                    for r in rankings
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No rankings yet.")
    st.markdown("**Judge verdicts**")
    verdicts = pair.get("verdicts") or []
    if verdicts:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "judge": v["judge_model"],
                        "order": v.get("order"),
                        "outcome": outcome_label(v.get("outcome")) if v.get("outcome") else "failed",
                        "rationale": v.get("rationale") or v.get("error") or "",
                    }
                    for v in verdicts
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No verdicts.")


def adjudication_form(pair: dict[str, Any]) -> None:
    current = pair.get("adjudication")
    options = ["a", "b", "tie"]
    with st.form(f"adjudicate:{pair['id']}"):
        outcome = st.radio(
            "Final label",
            options,
            index=options.index(current) if current in options else None,
            horizontal=True,
            format_func=lambda o: {"a": "A", "b": "B", "tie": "Tie"}[o],
            key=f"final:{pair['id']}",
        )
        reason = st.selectbox(
            "What went wrong (the error taxonomy on the dashboard)",
            list(ADJUDICATION_REASONS),
            index=None,
            format_func=ADJUDICATION_REASONS.get,
            key=f"final_reason:{pair['id']}",
            placeholder="none given: counts as other",
        )
        note = st.text_area("Note", key=f"final_note:{pair['id']}", placeholder="Why this label (kept with it)")
        submitted = st.form_submit_button("Save final label", type="primary")
    if not submitted:
        return
    if outcome is None:
        st.error("Choose A, B or Tie.")
        return
    try:
        saved = client().adjudicate(pair["id"], outcome, note.strip(), reason)
    except ApiError as exc:
        show_error(exc, "Saving the final label")
        return
    label = outcome_label(saved["outcome"])
    st.session_state["adjudicate_flash"] = f"Final label for pair {saved['pair_id']}: {label}."
    st.session_state.pop("disputes", None)
    st.rerun()


def settings_panel(project_id: int) -> None:
    """The project's review policy: reviewers per pair, share of blind items, share of gold items."""
    with st.expander("Review settings", icon=":material/tune:"):
        try:
            settings = client().review_settings(project_id)
        except ApiError as exc:
            show_error(exc, "Loading review settings")
            return
        with st.form("review_settings"):
            overlap = st.number_input("Reviewers per pair (overlap)", 1, 50, int(settings["overlap"]))
            blind = st.slider("Share of blind items", 0.0, 1.0, float(settings["blind_fraction"]), 0.05)
            gold = st.slider("Share of gold items", 0.0, 1.0, float(settings["gold_rate"]), 0.05)
            if st.form_submit_button("Save settings"):
                try:
                    client().put_review_settings(
                        project_id, {"overlap": int(overlap), "blind_fraction": blind, "gold_rate": gold}
                    )
                except ApiError as exc:
                    show_error(exc, "Saving review settings")
                    return
                st.success("Review settings saved.")


def main() -> None:
    current = project()
    st.title(f"Adjudicate · {current['name']}")
    flash = st.session_state.pop("adjudicate_flash", None)
    if flash:
        st.success(no_remote_images(flash))
    settings_panel(current["id"])
    if "disputes" not in st.session_state or st.session_state["disputes"][0] != current["id"]:
        try:
            st.session_state["disputes"] = (current["id"], client().disputes(current["id"]))
        except ApiError as exc:
            show_error(exc, "Loading disputes")
            return
    disputes = st.session_state["disputes"][1]
    if not disputes:
        st.success("No disputes: reviewers and judges agree on every ranked pair.")
        return
    open_count = sum(1 for d in disputes if d.get("adjudication") is None)
    st.caption(f"{len(disputes)} disputed pairs, {open_count} without a final label (those first).")
    st.dataframe(dispute_rows(disputes), hide_index=True, width="stretch", height=240)
    by_id = {d["pair_id"]: d for d in disputes}
    pair_id = st.selectbox(
        "Pair to adjudicate",
        list(by_id),
        format_func=lambda pid: (
            f"pair {pid} — {'; '.join(by_id[pid]['reasons'])}"
            + (f" (final: {outcome_label(by_id[pid]['adjudication'])})" if by_id[pid].get("adjudication") else "")
        ),
        key="dispute_pick",
    )
    try:
        pair = client().pair(pair_id)
    except ApiError as exc:
        show_error(exc, f"Loading pair {pair_id}")
        return
    show_pair(pair)
    adjudication_form(pair)


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
