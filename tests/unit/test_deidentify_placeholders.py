"""De-identification of one import row (Presidio's pattern recognisers, no model): placeholders and numbering."""

from __future__ import annotations

import pytest

from server.imports.deidentify import Deidentifier
from server.imports.schema import ImportRow


@pytest.fixture(scope="module")
def scrub() -> Deidentifier:
    return Deidentifier(names_model="no-such-pipeline")  # the pattern recognisers only, as on a bare machine


def clean(scrub: Deidentifier, **row: object) -> tuple[ImportRow, dict[str, int]]:
    found, counts = scrub.row(ImportRow.model_validate(row))
    return found, dict(counts)


def test_neighbours_of_one_type_keep_their_own_numbers(scrub: Deidentifier) -> None:
    found, counts = clean(scrub, prompt="mail a@b.org c@d.org, cards 4111111111111111 5555555555554444")
    assert found.prompt == "mail <EMAIL_1> <EMAIL_2>, cards <CARD_1> <CARD_2>"
    assert counts == {"EMAIL": 2, "CARD": 2}


def test_one_value_one_number_across_the_row_in_any_spelling(scrub: Deidentifier) -> None:
    found, counts = clean(
        scrub,
        prompt=[{"role": "system", "content": "Call +1 212-555-0199."}, {"role": "user", "content": "ok?"}],
        response_a="Dialled (212) 555-0199.",
        response_b="Try 415-555-2671 instead.",
        reference="A@B.org",
        meta={"note": "from a@b.org"},
    )
    assert [m.content for m in found.prompt] == ["Call <PHONE_1>.", "ok?"]
    assert [m.role for m in found.prompt] == ["system", "user"]
    assert (found.response_a, found.response_b) == ("Dialled <PHONE_1>.", "Try <PHONE_2> instead.")
    assert (found.reference, found.meta) == ("<EMAIL_1>", {"note": "from <EMAIL_1>"})
    assert counts == {"PHONE": 3, "EMAIL": 2}


def test_urls_go_when_they_have_a_path_and_placeholders_stay(scrub: Deidentifier) -> None:
    found, counts = clean(scrub, prompt="see https://example.com and example.org/~ann/cv.pdf and <EMAIL_1>")
    assert found.prompt == "see https://example.com and <URL_1> and <EMAIL_1>"
    assert counts == {"URL": 1}
    again, nothing = clean(scrub, prompt=found.prompt)
    assert (again.prompt, nothing) == (found.prompt, {})  # de-identified text is left as it is


def test_recognisers_are_the_pattern_ones_without_a_names_pipeline(scrub: Deidentifier) -> None:
    assert scrub.recognizers == [
        "CreditCardRecognizer", "IbanRecognizer", "IpRecognizer", "OfflineEmailRecognizer",
        "PersonalUrlRecognizer", "PhoneRecognizer",
    ]  # fmt: skip
    found, _ = clean(scrub, prompt="Jane Doe wrote this")
    assert found.prompt == "Jane Doe wrote this"  # no NER model here: names are not covered
