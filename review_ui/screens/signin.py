"""Sign-in: paste the API token you were given; the screen shows who that token belongs to.

Also shown to a signed-in person with no project, so they can see who they are and sign out.
"""

from __future__ import annotations

import streamlit as st

from review_ui.client import ApiError, Client, api_url
from review_ui.safe_text import no_remote_images
from review_ui.session import ME, TOKEN, sign_out


def signed_in_view() -> None:
    me = st.session_state[ME]
    st.title("Your account")
    st.write(no_remote_images(f"Signed in as **{me['name']}**, role **{me['role']}**, at `{api_url()}`."))
    st.info("You are not a member of any project yet; ask an author or admin to add you.")
    if st.button("Sign out"):
        sign_out()
        st.rerun()


def sign_in_view() -> None:
    st.title("rubricate review")
    st.caption(f"API: {api_url()}")
    with st.form("sign_in"):
        token = st.text_input(
            "API token", type="password", key="token_input", help="The token `rubricate annotator add` printed."
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    if not token.strip():
        st.error("Paste your API token first.")
        return
    try:
        with Client(api_url(), token.strip()) as probe:
            me = probe.me()
    except ApiError as exc:
        st.error(
            no_remote_images("That token was not accepted." if exc.status == 401 else f"Sign-in failed: {exc.message}")
        )
        return
    st.session_state[TOKEN], st.session_state[ME] = token.strip(), me
    st.rerun()


def main() -> None:
    if st.session_state.get(TOKEN) and ME in st.session_state:
        signed_in_view()
    else:
        sign_in_view()


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
