"""Review: one pair at a time — the conversation, responses A and B side by side, and the ranking form.

A is the left response and B the right one, exactly as the server drew them; the server maps the
answer back to the pair's stored order. Blind items show nothing of the judge; assisted items show
the judge's verdict and rationale. Time on item is measured from when this session first showed the
assignment, and every assignment gets one Idempotency-Key, reused if the submission is retried, so a
double click or a flaky network never stores two rankings.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import streamlit as st

from review_ui.client import ApiError
from review_ui.safe_text import no_remote_images
from review_ui.session import client, outcome_label, project, show_error

SKIP_REASONS = {
    "unclear_guideline": "The guidelines don't say how to judge this",
    "ambiguous_item": "The item is ambiguous",
    "broken_item": "The item is broken (empty, garbled, wrong language…)",
    "other": "Other (say why in the note)",
}
ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}
ROLE_AVATARS = {"system": ":material/settings:", "user": "user", "assistant": "assistant"}
STRENGTHS = [-3, -2, -1, 0, 1, 2, 3]


def strength_label(value: int) -> str:
    """How a graded preference reads on the slider.

    >>> strength_label(-3), strength_label(0), strength_label(1)
    ('A much better (-3)', 'Equal (0)', 'B slightly better (+1)')
    """
    if value == 0:
        return "Equal (0)"
    side = "A" if value < 0 else "B"
    word = {1: "slightly", 2: "clearly", 3: "much"}[abs(value)]
    return f"{side} {word} better ({value:+d})"


def strength_problem(outcome: str, strength: int | None) -> str | None:
    """Why a strength contradicts the overall choice, or None when they agree.

    >>> strength_problem("a", 2)
    'The strength favours B but you chose A.'
    >>> strength_problem("tie", 0) is None, strength_problem("b", None) is None
    (True, True)
    """
    if strength is None:
        return None
    implied = "tie" if strength == 0 else ("a" if strength < 0 else "b")
    if implied == outcome:
        return None
    said = {"tie": "no preference", "a": "A", "b": "B"}[implied]
    return f"The strength favours {said} but you chose {outcome_label(outcome)}."


def _queue_key(project_id: int) -> str:
    return f"queue:{project_id}"


def load_queue(project_id: int) -> dict[str, Any] | None:
    """The current item and progress, fetched once and kept until it is answered or skipped."""
    key = _queue_key(project_id)
    if key not in st.session_state:
        try:
            st.session_state[key] = client().next_assignment(project_id)
        except ApiError as exc:
            show_error(exc, "Loading your next item")
            return None
    return st.session_state[key]


def finished(project_id: int, message: str) -> None:
    """Forget the answered item, remember what to tell the reviewer, and fetch the next one."""
    st.session_state.pop(_queue_key(project_id), None)
    st.session_state["review_flash"] = message
    st.rerun()


def show_progress(progress: dict[str, int]) -> None:
    done, skipped = progress.get("done", 0), progress.get("skipped", 0)
    left = progress.get("open", 0) + progress.get("pending", 0)
    cols = st.columns(3)
    cols[0].metric("Done", done)
    cols[1].metric("Skipped", skipped)
    cols[2].metric("Left in project", left)
    total = done + skipped + left
    st.progress(((done + skipped) / total) if total else 1.0, text=f"{done + skipped} of {total} answered")


def show_conversation(messages: list[dict[str, str]]) -> None:
    """The prompt, turn by turn; markdown renders lists, tables and code blocks."""
    st.subheader("Conversation")
    for message in messages:
        role = message.get("role", "user")
        with st.chat_message(role, avatar=ROLE_AVATARS.get(role, "user")):
            st.caption(ROLE_LABELS.get(role, role.title()))
            st.markdown(no_remote_images(message.get("content", "")))


def show_responses(item: dict[str, Any]) -> None:
    left, right = st.columns(2, gap="medium")
    for column, side in ((left, "a"), (right, "b")):
        with column, st.container(border=True):
            st.markdown(no_remote_images(f"### Response {side.upper()}"))
            text = item[f"response_{side}"]["text"]
            st.markdown(no_remote_images(text) if text.strip() else "_(empty response)_")


def show_judge(judge: dict[str, Any] | None) -> None:
    """Assisted mode only: the judge's combined verdict, in the order shown here."""
    if not judge:
        st.caption("Assisted item, but no judge verdict is available for this pair.")
        return
    consistency = {
        True: "the same in both presentation orders",
        False: "NOT consistent across presentation orders: counted as a tie",
        None: "judged in one presentation order only",
    }[judge.get("consistent")]
    text = f"**Judge {judge['judge']}** prefers **{outcome_label(judge.get('outcome'))}** ({consistency})."
    if judge.get("rationale"):
        text += f"\n\n{judge['rationale']}"
    st.info(no_remote_images(text), icon=":material/smart_toy:")


REASONS = {
    "escalated": "Why this pair: certified routing escalated it — no judge's label could be trusted here, "
    "so a person decides.",
    "audit": "Why this pair: an audit — a judge's label was accepted for it; your ranking checks that judge.",
}


def show_reason(reason: str | None) -> None:
    """Under certified routing: why the pair is in this reviewer's queue (escalated or audit)."""
    if reason in REASONS:
        st.caption(REASONS[reason])


def ranking_form(item: dict[str, Any]) -> None:
    """The answer: per-criterion choices, overall choice, optional strength, rationale, confidence."""
    aid = item["id"]
    started = st.session_state.setdefault(f"started:{aid}", time.time())
    key = st.session_state.setdefault(f"idem:{aid}", f"ui-{aid}-{uuid.uuid4().hex}")
    with st.form(f"rank:{aid}"):
        criteria = item.get("criteria") or []
        chosen_criteria: dict[str, str | None] = {}
        if criteria:
            st.markdown("**Per criterion** (optional)")
            for criterion in criteria:
                chosen_criteria[criterion["id"]] = st.radio(
                    criterion.get("title") or criterion["id"],
                    ["a", "b", "tie"],
                    index=None,
                    horizontal=True,
                    format_func=outcome_label,
                    help=criterion.get("description") or None,
                    key=f"crit:{aid}:{criterion['id']}",
                )
        outcome = st.radio(
            "Which response is better overall?",
            ["a", "b", "tie"],
            index=None,
            horizontal=True,
            format_func=lambda o: {"a": "A (left)", "b": "B (right)", "tie": "Tie"}[o],
            key=f"outcome:{aid}",
        )
        use_strength = st.checkbox("Also give a graded strength", key=f"use_strength:{aid}")
        strength = st.select_slider(
            "Strength (negative favours A)", STRENGTHS, value=0, format_func=strength_label, key=f"strength:{aid}"
        )
        rationale = st.text_area("Rationale", key=f"rationale:{aid}", placeholder="Why this one? (optional)")
        confidence = st.select_slider(
            "Confidence", [1, 2, 3, 4, 5], value=3, key=f"confidence:{aid}", help="1 = guess, 5 = certain"
        )
        submitted = st.form_submit_button("Submit ranking", type="primary")
    if not submitted:
        return
    if outcome is None:
        st.error("Choose A, B or Tie before submitting.")
        return
    given = strength if use_strength else None
    problem = strength_problem(outcome, given)
    if problem:
        st.error(no_remote_images(problem))
        return
    body = {
        "outcome": outcome,
        "strength": given,
        "criteria": {k: v for k, v in chosen_criteria.items() if v},
        "rationale": rationale.strip() or None,
        "confidence": confidence,
        "seconds": round(time.time() - started, 3),
    }
    try:
        receipt = client().submit_ranking(aid, body, key)
    except ApiError as exc:
        show_error(exc, "Submitting your ranking")
        st.caption("Submitting again is safe: the retry carries the same Idempotency-Key.")
        return
    st.session_state["last_ranking"] = receipt
    finished(project()["id"], f"Ranking saved for pair {receipt['pair_id']} (answer {outcome_label(outcome)}).")


def skip_form(item: dict[str, Any]) -> None:
    aid = item["id"]
    with st.expander("Skip this item"), st.form(f"skip:{aid}"):
        reason = st.selectbox("Reason", list(SKIP_REASONS), format_func=SKIP_REASONS.get, key=f"skip_reason:{aid}")
        note = st.text_input("Note (optional)", key=f"skip_note:{aid}")
        if st.form_submit_button("Skip"):
            try:
                client().skip(aid, reason, note.strip() or None)
            except ApiError as exc:
                show_error(exc, "Skipping")
                return
            finished(project()["id"], f"Item skipped ({SKIP_REASONS[reason].lower()}).")


def main() -> None:
    current = project()
    st.title(f"Review · {current['name']}")
    flash = st.session_state.pop("review_flash", None)
    if flash:
        st.success(no_remote_images(flash))
    queue = load_queue(current["id"])
    if queue is None:
        return
    show_progress(queue["progress"])
    item = queue["assignment"]
    if item is None:
        st.success("Nothing left for you in this project. Thank you!")
        return
    mode = item["mode"]
    rubric = f" · rubric {item['rubric']}" if item.get("rubric") else ""
    st.caption(f"Assignment {item['id']} · {'blind' if mode == 'blind' else 'assisted'} mode{rubric}")
    show_reason(item.get("reason"))
    if item.get("guidelines"):
        with st.expander("Guidelines", icon=":material/menu_book:"):
            st.markdown(no_remote_images(item["guidelines"]))
    show_conversation(item["prompt"])
    show_responses(item)
    if mode == "assisted":
        show_judge(item.get("judge"))
    ranking_form(item)
    skip_form(item)


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
