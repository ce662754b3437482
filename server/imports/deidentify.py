"""De-identify import rows before they are stored: personal data becomes typed placeholders.

Microsoft Presidio finds the spans (its pattern recognisers: e-mail, phone, card, IBAN, IP address, URL;
person names only where a spaCy pipeline with a named-entity recogniser is installed, since none can be
downloaded at run time) and its anonymizer rewrites them. A placeholder is numbered per row and value,
so the same address is `<EMAIL_1>` in the prompt and in both responses, and a different one `<EMAIL_2>`.

>>> scrub = Deidentifier()
>>> row = ImportRow.model_validate({"prompt": "Write to ann@example.org", "response_a": "ann@example.org it is",
...                                 "response_b": "Use bob@example.org"})
>>> clean, counts = scrub.row(row)
>>> clean.prompt, clean.response_a, clean.response_b, dict(counts)
('Write to <EMAIL_1>', '<EMAIL_1> it is', 'Use <EMAIL_2>', {'EMAIL': 3})
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import spacy.util
import tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngine, NoOpNlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
)
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from server.imports.schema import ImportRow

# Presidio's entity names -> the placeholder's type (`<EMAIL_1>`)
PLACEHOLDER = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP",
    "URL": "URL",
    "PERSON": "PERSON",
}
NAMES_MODEL = "en_core_web_lg"  # Presidio's default spaCy pipeline; used for person names only if installed
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # the bundled suffix list, no fetch
NOT_TEXT = {"id", "role", "annotator", "judge", "outcome", "order"}  # row keys that hold no free text
_PLACED = re.compile(r"<(?:" + "|".join(PLACEHOLDER.values()) + r")_\d+>")


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, validating the domain against tldextract's bundled list (no download)."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


class PersonalUrlRecognizer(UrlRecognizer):
    """URLs with a path or query (`/~jdoe/cv.pdf`, `?user=…`): those can name a person; a bare host cannot."""

    def validate_result(self, pattern_text: str) -> bool:
        parts = urlsplit(pattern_text if "//" in pattern_text else "//" + pattern_text)
        return bool(parts.path.strip("/") or parts.query or parts.fragment or parts.username)


def canonical(kind: str, value: str) -> str:
    """The form two mentions of one value share: `+1 212-555-0199` and `(212) 555 0199` are one phone.

    >>> canonical("PHONE", "(212) 555 0199"), canonical("IBAN", "de89 3704"), canonical("EMAIL", "A@x.org")
    ('+12125550199', 'DE893704', 'a@x.org')
    """
    if kind == "PHONE":
        try:
            return phonenumbers.format_number(phonenumbers.parse(value, "US"), phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", value)
    if kind in ("CARD", "IBAN"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return value.lower() if kind in ("EMAIL", "IP") else value


def names_engine(model: str) -> NlpEngine | None:
    """A spaCy engine for `model` (a package name or a folder) when it is installed here, else None."""
    if not (spacy.util.is_package(model) or Path(model).is_dir()):
        return None
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    engine.load()
    return engine


class Deidentifier:
    """Finds personal data with Presidio and replaces it by per-row numbered, typed placeholders."""

    def __init__(self, names_model: str = NAMES_MODEL) -> None:
        self.names_model = names_model

    @cached_property
    def analyzer(self) -> AnalyzerEngine:
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in (
            OfflineEmailRecognizer(),
            PhoneRecognizer(),
            CreditCardRecognizer(),
            IbanRecognizer(),
            IpRecognizer(),
            PersonalUrlRecognizer(),
        ):
            registry.add_recognizer(recognizer)
        engine = names_engine(self.names_model)
        if engine is not None:
            registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON"]))
        else:
            engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    @cached_property
    def anonymizer(self) -> AnonymizerEngine:
        return AnonymizerEngine()

    @property
    def recognizers(self) -> list[str]:
        """The recognisers in use, by Presidio name (what the project records)."""
        return sorted(r.name for r in self.analyzer.registry.recognizers)

    def spans(self, text: str) -> list[RecognizerResult]:
        """Non-overlapping findings: where two overlap, the higher score (then the longer span) wins."""
        found = self.analyzer.analyze(text, language="en", entities=list(PLACEHOLDER))
        found.sort(key=lambda r: (-r.score, -(r.end - r.start), r.start))
        kept: list[RecognizerResult] = []
        for result in found:
            inside_placeholder = any(m.start() <= result.start < m.end() for m in _PLACED.finditer(text))
            if not inside_placeholder and all(result.end <= k.start or result.start >= k.end for k in kept):
                kept.append(result)
        return sorted(kept, key=lambda r: r.start)

    def text(self, text: str, numbers: dict[tuple[str, str], int], counts: Counter[str]) -> str:
        """`text` with its findings replaced; `numbers` holds the row's (type, value) -> number so far."""
        spans = self.spans(text)
        if not spans:
            return text
        # One entity type per span: the anonymizer merges same-type findings with only whitespace between
        # ("a@b.org c@d.org" would become one), so each span gets its own type and its placeholder up front.
        tagged, operators = [], {}
        for number, span in enumerate(spans):  # numbered in reading order
            kind = PLACEHOLDER[span.entity_type]
            key = (kind, canonical(kind, text[span.start : span.end]))
            if key not in numbers:
                numbers[key] = 1 + sum(1 for known, _ in numbers if known == kind)
            tag = f"{kind}#{number}"
            tagged.append(RecognizerResult(tag, span.start, span.end, span.score))
            operators[tag] = OperatorConfig("replace", {"new_value": f"<{kind}_{numbers[key]}>"})
            counts[kind] += 1
        return self.anonymizer.anonymize(text=text, analyzer_results=tagged, operators=operators).text

    def row(self, row: ImportRow) -> tuple[ImportRow, Counter[str]]:
        """The row with every text field de-identified (prompt, responses, reference, rationales, meta)."""
        numbers: dict[tuple[str, str], int] = {}
        counts: Counter[str] = Counter()
        data = row.model_dump(exclude_none=True)
        clean = _walk(data, lambda value: self.text(value, numbers, counts), skip=NOT_TEXT)
        return ImportRow.model_validate(clean), counts


@cache
def deidentifier(names_model: str = NAMES_MODEL) -> Deidentifier:
    """One shared Deidentifier per names model (its engines load once per process)."""
    return Deidentifier(names_model)


def _walk(value: Any, change: Any, skip: set[str], key: str = "") -> Any:
    """Apply `change` to every string in a JSON-like value, except under the keys in `skip`."""
    if isinstance(value, str):
        return value if key in skip else change(value)
    if isinstance(value, dict):
        return {k: _walk(v, change, skip, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change, skip, key) for v in value]
    return value
