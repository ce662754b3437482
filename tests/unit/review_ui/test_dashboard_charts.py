"""The dashboard's reshaping of an agreement report into tables and Vega-Lite charts (no servers needed).

REPORT is built from the report's own pydantic models (server/agreement/models.py) and dumped to JSON
the way the API serves it, so a change of the contract breaks these tests rather than the screen.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from review_ui import charts
from server.agreement.metrics import Interval
from server.agreement.models import (
    AgreementReport,
    Anchoring,
    AnchoringAnnotator,
    AnnotatorStats,
    BiasCounts,
    Counts,
    Estimate,
    Hotspot,
    HotspotVote,
    HumanHuman,
    JudgeBias,
    JudgeHuman,
    PairwiseKappa,
    ProjectRef,
    ReportSettings,
    RubricVersionRow,
    VersionJudge,
)

A1, A2, REV = "pandalm/annotator1", "pandalm/annotator2", "rev1"


def E(value: float | None, ci: tuple[float, float] | None = None) -> Estimate:
    return Estimate.of(value, Interval(*ci) if ci else None)


def _judge(judge: str, criterion: str | None, accuracy: float, kappa: float, ci: bool = True) -> JudgeHuman:
    return JudgeHuman(
        judge=judge,
        rubric="hhh@1.0.1" if judge == "j1" else None,
        criterion=criterion,
        n=50,
        failed=0,
        failed_as="tie",
        accuracy=E(accuracy, (accuracy - 0.1, accuracy + 0.1) if ci else None),
        macro_precision=E(0.6),
        macro_recall=E(0.55),
        macro_f1=E(None),
        cohen_kappa=E(kappa, (kappa - 0.2, kappa + 0.2) if ci else None),
        krippendorff_alpha_with_judge=0.5,
    )


REPORT: dict[str, Any] = AgreementReport(
    project=ProjectRef(id=1, name="demo"),
    rubric=None,
    criterion=None,
    settings=ReportSettings(failed="tie", resamples=1000, confidence=0.95, seed=0),
    counts=Counts(
        pairs=60, rankings=121, verdicts=180, annotators=3, judges=2, references={"a": 25, "b": 22, "tie": 10}
    ),
    annotators=[
        AnnotatorStats(
            annotator=A1,
            n=60,
            tie_rate=0.2,
            median_seconds=None,
            modes={},
            shared=60,
            agreement_with_others=0.9166,
            kappa_with_others=0.88,
            gold_n=2,
            gold_accuracy=0.5,
        ),
        AnnotatorStats(
            annotator=REV,
            n=1,
            tie_rate=0.0,
            median_seconds=12.5,
            modes={"assisted": 1},
            shared=1,
            agreement_with_others=None,
            kappa_with_others=None,
            gold_n=0,
            gold_accuracy=None,
        ),
    ],
    human_human=HumanHuman(
        annotators=[A1, A2, REV],
        n=60,
        pairwise=[
            PairwiseKappa(annotators=(A1, A2), n=60, cohen_kappa=E(0.85, (0.8, 0.9)), percent_agreement=0.91),
            PairwiseKappa(annotators=(A1, REV), n=1, cohen_kappa=E(None), percent_agreement=1.0),
            PairwiseKappa(annotators=(A2, REV), n=12, cohen_kappa=E(-0.3), percent_agreement=0.25),
        ],
        fleiss_kappa=E(0.86, (0.84, 0.88)),
        fleiss_n=60,
        krippendorff_alpha=E(0.87),
        percent_agreement=E(0.92),
    ),
    judge_human=[
        _judge("j1", None, 0.72, 0.58),
        _judge("j2", None, 0.6, -0.05, ci=False),
        _judge("j1", "helpful", 0.68, 0.51),
    ],
    judge_annotator=[],
    judge_bias=[
        JudgeBias(
            judge="j1",
            rubric="hhh@1.0.1",
            n=60,
            consistency=E(0.9167, (0.83, 0.98)),
            first_position_rate=E(0.527, (0.49, 0.57)),
            longer_wins_judge=E(0.585, (0.44, 0.74)),
            longer_wins_humans=E(0.5, (0.36, 0.64)),
            counts=BiasCounts(
                both_orders=60,
                consistent=55,
                decisive_verdicts=91,
                first_position_wins=48,
                judge_decisive_unequal=41,
                humans_decisive_unequal=46,
            ),
        ),
        JudgeBias(
            judge="j2",
            rubric=None,
            n=54,
            consistency=E(None),
            first_position_rate=E(0.49),
            longer_wins_judge=E(0.62),
            longer_wins_humans=E(0.675),
            counts=BiasCounts(
                both_orders=0,
                consistent=0,
                decisive_verdicts=50,
                first_position_wins=25,
                judge_decisive_unequal=40,
                humans_decisive_unequal=40,
            ),
        ),
    ],
    hotspots=[
        Hotspot(
            pair=1,
            key="p0",
            disagreement=2 / 3,
            judges_disagreeing=0,
            reference=None,
            votes={"a": 1, "b": 1, "tie": 1},
            rankings=[
                HotspotVote(annotator=A1, outcome="a"),
                HotspotVote(annotator=A2, outcome="b"),
                HotspotVote(annotator=REV, outcome="tie"),
            ],
            judges={"j1": "tie", "j2": None},
        ),
        Hotspot(
            pair=5,
            key="p4",
            disagreement=1 / 3,
            judges_disagreeing=2,
            reference="a",
            votes={"a": 2, "b": 0, "tie": 1},
            rankings=[HotspotVote(annotator=A1, outcome="a"), HotspotVote(annotator=A2, outcome="tie")],
            judges={"j1": "b", "j2": "tie"},
        ),
    ],
    anchoring=[
        Anchoring(
            judge="j1",
            n=18,
            assisted=E(0.5, (0.17, 0.83)),
            blind=E(0.75, (0.42, 1.0)),
            difference=E(-0.25, (-0.6667, 0.1667)),
            counts={"assisted": 6, "blind": 12},
            per_annotator=[
                AnchoringAnnotator(
                    annotator="ann",
                    n=6,
                    assisted=E(None),
                    blind=E(0.8333, (0.5, 1.0)),
                    difference=E(None),
                    counts={"assisted": 0, "blind": 6},
                ),
                AnchoringAnnotator(
                    annotator="cyd",
                    n=6,
                    assisted=E(0.5, (0.17, 0.83)),
                    blind=E(None),
                    difference=E(None),
                    counts={"assisted": 6, "blind": 0},
                ),
            ],
        ),
        Anchoring(
            judge="j2",
            n=1,
            assisted=E(0.0, (0.0, 0.0)),
            blind=E(None),
            difference=E(None),
            counts={"assisted": 1, "blind": 0},
        ),
    ],
    rubric_versions=[
        RubricVersionRow(
            rubric=None,
            rankings=60,
            verdicts=60,
            krippendorff_alpha=None,
            judges=[VersionJudge(judge="j2", n=60, accuracy=0.53, macro_f1=0.5, cohen_kappa=0.29)],
        ),
        RubricVersionRow(
            rubric="hhh@1.0.0",
            rankings=60,
            verdicts=120,
            krippendorff_alpha=0.5,
            judges=[VersionJudge(judge="j1", n=41, accuracy=0.44, macro_f1=0.44, cohen_kappa=0.19)],
        ),
        RubricVersionRow(
            rubric="hhh@1.0.1",
            rankings=60,
            verdicts=120,
            krippendorff_alpha=0.5,
            judges=[VersionJudge(judge="j1", n=41, accuracy=0.78, macro_f1=0.74, cohen_kappa=None)],
        ),
    ],
).model_dump(mode="json")


def layers(spec: dict[str, Any]) -> list[str]:
    return [layer["mark"]["type"] for layer in spec["layer"]]


def values(spec: dict[str, Any], layer: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows a chart (or one of its layers) draws: Altair puts data frames into `datasets` by name."""
    return spec["datasets"][(layer or spec)["data"]["name"]]


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows with missing numbers as None (pandas holds them as NaN)."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def test_kappa_heatmap_is_a_readable_square_grid() -> None:
    matrix = charts.kappa_matrix(REPORT["human_human"]["pairwise"])
    assert len(matrix) == 9  # 3 × 3, diagonal included
    cell = {(r.annotator, r.other): r for r in matrix.itertuples()}
    assert cell[(A1, A2)].cohen_kappa == cell[(A2, A1)].cohen_kappa == 0.85
    assert (cell[(A1, A2)].text, cell[(A1, A2)].ink, cell[(A1, A2)].interval) == ("0.85", "white", "0.80 – 0.90")
    assert (cell[(REV, A2)].text, cell[(REV, A2)].ink, cell[(REV, A2)].n) == ("-0.30", "black", 12)  # light cell
    assert (cell[(A1, REV)].kind, cell[(A1, REV)].text, cell[(A1, REV)].detail) == ("undefined", "n/a", "n = 1")
    assert all(cell[(a, a)].kind == "self" and cell[(a, a)].text == "" for a in (A1, A2, REV))  # empty on purpose
    assert cell[(A1, REV)].row_label == "annotator1" and cell[(REV, A1)].row_label == "rev1"

    spec = charts.kappa_heatmap(REPORT["human_human"]["pairwise"]).to_dict()
    assert spec["width"] == spec["height"] == 3 * charts.CELL and spec["autosize"]["type"] == "pad"
    assert layers(spec) == ["rect", "rect", "text", "text"]
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["field"] == "cohen_kappa" and colour["scale"] == {"domain": [-1, 1], "scheme": "redblue"}
    assert spec["layer"][1]["encoding"]["color"] == {"value": charts.EMPTY_CELL}  # diagonal and n/a cells
    x = spec["layer"][0]["encoding"]["x"]
    assert x["field"] == "column_label" and x["sort"] == ["annotator1", "annotator2", "rev1"]
    assert x["axis"]["labelAngle"] == -30 and x["axis"]["labelLimit"] == 160
    tooltip = [t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]]
    assert tooltip[:3] == ["annotator", "other", "cohen_kappa"]  # full names on hover
    assert {row["annotator"] for row in values(spec)} == {A1, A2, REV}
    ink = spec["layer"][2]["encoding"]["color"]
    assert ink["condition"]["value"] == "white" and ink["value"] == "black"


def test_short_names_stay_distinct() -> None:
    assert charts.short_names([A1, A2, REV]) == {A1: "annotator1", A2: "annotator2", REV: "rev1"}
    assert charts.short_names(["x/same", "y/same"]) == {"x/same": "x/same", "y/same": "y/same"}


def test_annotator_table_reads_as_a_table() -> None:
    table = charts.annotator_table(REPORT["annotators"])
    assert records(table)[0] == {
        "reviewer": A1,
        "rankings": 60,
        "modes": "",
        "tie rate": 0.2,
        "agrees with others": 0.92,
        "κ vs others' majority": 0.88,
        "gold accuracy": "0.50 of 2",
        "seconds per item": None,
    }
    assert table.iloc[1]["modes"] == "assisted 1"


def test_judge_metrics_have_readable_labels_intervals_and_a_panel_per_criterion() -> None:
    table = charts.judge_table(REPORT["judge_human"])
    overall = table[table["criterion"] == "overall"]
    assert set(overall["judge"]) == {"j1", "j2"}
    assert list(overall[overall["judge"] == "j1"]["metric"]) == [
        "Accuracy", "Macro precision", "Macro recall", "Cohen's κ"
    ]  # fmt: skip  # macro_f1 is null: no bar
    kappa = overall[(overall["judge"] == "j1") & (overall["metric"] == "Cohen's κ")].iloc[0]
    assert (kappa["value"], kappa["low"], kappa["high"]) == (0.58, 0.58 - 0.2, 0.58 + 0.2)
    assert math.isnan(overall[overall["judge"] == "j2"].iloc[0]["low"])  # no interval
    helpful = table[table["criterion"] == "helpful"]
    assert dict(zip(helpful["metric"], helpful["value"], strict=True))["Accuracy"] == 0.68

    spec = charts.judge_bars(overall, judges=["j1", "j2"]).to_dict()
    assert layers(spec) == ["bar", "rule", "text"]
    bars = spec["layer"][0]["encoding"]
    assert bars["y"]["scale"]["domain"] == [-0.1, 1.0]  # down to the tenth below j2's kappa of −0.05
    assert bars["x"]["sort"] == ["Accuracy", "Macro precision", "Macro recall", "Cohen's κ"]
    assert bars["xOffset"]["field"] == "judge" and bars["color"]["scale"]["domain"] == ["j1", "j2"]
    assert spec["layer"][1]["encoding"]["y"]["field"] == "low" and spec["layer"][1]["encoding"]["y2"]["field"] == "high"
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"} and spec["height"] == 240
    panel = charts.judge_bars(helpful, title="Criterion: helpful", judges=["j1", "j2"]).to_dict()
    assert panel["title"]["text"] == "Criterion: helpful"
    assert panel["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["j1", "j2"]  # same colours as overall
    assert panel["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]


def test_judge_bias_is_one_chart_per_judge_and_says_when_one_order_only() -> None:
    both, one = REPORT["judge_bias"]
    assert not charts.one_order_only(both) and charts.one_order_only(one)
    table = charts.bias_table(REPORT["judge_bias"])
    j1 = table[table["judge"] == "j1"]
    assert j1[["metric", "who", "value", "low", "high", "label"]].values.tolist() == [
        ["Same outcome · in both orders", "judge", 0.9167, 0.83, 0.98, "0.92"],
        ["First shown · wins", "judge", 0.527, 0.49, 0.57, "0.53"],
        ["Longer wins · judge", "judge", 0.585, 0.44, 0.74, "0.58"],
        ["Longer wins · humans", "humans", 0.5, 0.36, 0.64, "0.50"],
    ]
    j2 = table[table["judge"] == "j2"].set_index("metric")
    assert math.isnan(j2.loc["Same outcome · in both orders", "value"])
    assert j2.loc["Same outcome · in both orders", "note"] == "judged in · one order only"
    assert j2.loc["Longer wins · humans", "value"] == 0.675 and j2["note"].tolist()[1:] == ["", "", ""]

    spec = charts.bias_chart(one).to_dict()
    assert layers(spec) == ["bar", "rule", "text", "text", "tick"]
    assert spec["title"] == {"text": "j2", "subtitle": "54 pairs · 0 judged in both orders", "anchor": "start"}
    bars = spec["layer"][0]["encoding"]
    assert bars["y"]["scale"]["domain"] == [0, 1]
    assert bars["x"]["scale"]["domain"] == [label for _, label, _ in charts.BIAS_METRICS]
    assert bars["x"]["axis"]["labelExpr"] == charts.TWO_LINES  # "First shown · wins" on two lines
    assert bars["color"]["scale"] == {
        "domain": ["judge", "humans"],
        "range": [charts.JUDGE_COLOUR, charts.HUMAN_COLOUR],
    }
    [no_bias] = values(spec, spec["layer"][4])
    assert no_bias == {"metric": "First shown · wins", "value": 0.5}  # only over the first-position bar
    notes = spec["layer"][3]
    assert notes["transform"][0] == {"filter": "datum.note != ''"} and notes["encoding"]["text"]["field"] == "lines"
    assert (
        charts.bias_chart(both).to_dict()["title"]["subtitle"]
        == "60 pairs · 60 judged in both orders · rubric hhh@1.0.1"
    )


def test_anchoring_compares_assisted_with_blind_per_judge() -> None:
    table = charts.anchoring_table(REPORT["anchoring"])
    rows = table.fillna(-1).values.tolist()
    assert rows == [
        ["j1", "assisted", 0.5, 0.17, 0.83, 6, "0.50 · n = 6", ""],
        ["j1", "blind", 0.75, 0.42, 1.0, 12, "0.75 · n = 12", ""],
        ["j2", "assisted", 0.0, 0.0, 0.0, 1, "0.00 · n = 1", ""],  # a zero bar still says what it is
        ["j2", "blind", -1, -1, -1, 0, "", "no usable · blind rankings"],
    ]
    spec = charts.anchoring_chart(REPORT["anchoring"]).to_dict()
    assert layers(spec) == ["bar", "rule", "text", "text"]
    bars = spec["layer"][0]["encoding"]
    assert bars["y"]["scale"]["domain"] == [0, 1] and bars["y"]["title"] == "agrees with the judge"
    assert bars["x"]["field"] == "judge" and bars["xOffset"]["field"] == "mode"
    assert bars["color"]["scale"]["domain"] == ["assisted", "blind"]
    assert (spec["layer"][1]["encoding"]["y"]["field"], spec["layer"][1]["encoding"]["y2"]["field"]) == ("low", "high")
    assert [charts.anchoring_difference(row) for row in REPORT["anchoring"]] == [("−0.25", "−0.67 – +0.17"), ("—", "")]
    people = charts.anchoring_annotators(REPORT["anchoring"])
    assert records(people)[0] == {
        "judge": "j1",
        "reviewer": "ann",
        "assisted": None,
        "blind": 0.83,
        "assisted − blind": "—",
        "interval": "",
        "assisted rankings": 0,
        "blind rankings": 6,
    }
    assert len(people) == 2


def test_hotspots_read_as_a_table_with_one_column_per_annotator_and_judge() -> None:
    table = charts.hotspot_table(REPORT["hotspots"])
    assert list(table.columns) == [
        "pair", "key", "reference", "human votes", "annotator1", "annotator2", "rev1", "j1", "j2",
        "disagreement", "judges off",
    ]  # fmt: skip
    assert table.values.tolist() == [
        [1, "p0", "none", "a 1 · b 1 · tie 1", "a", "b", "tie", "tie", "failed", 0.67, 0],
        [5, "p4", "a", "a 2 · b 0 · tie 1", "a", "tie", "", "b", "tie", 0.33, 2],
    ]
    marks = charts.hotspot_marks(table, colour="X")
    assert (marks.iloc[0] == "").all()  # no reference: nothing to differ from
    assert marks.iloc[1][marks.iloc[1] == "X"].index.tolist() == ["annotator2", "j1", "j2"]


def test_versions_line_up_judge_metrics_per_rubric_version() -> None:
    data = charts.version_table(REPORT["rubric_versions"])
    assert data.values.tolist() == [
        ["no rubric", "j2", "Accuracy", 0.53, 60],
        ["no rubric", "j2", "Cohen's κ", 0.29, 60],
        ["hhh@1.0.0", "j1", "Accuracy", 0.44, 41],
        ["hhh@1.0.0", "j1", "Cohen's κ", 0.19, 41],
        ["hhh@1.0.1", "j1", "Accuracy", 0.78, 41],  # its kappa is null: no point
    ]
    spec = charts.version_lines(data, "Cohen's κ", judges=["j1", "j2"]).to_dict()
    assert layers(spec) == ["line", "text"] and spec["title"]["text"] == "Cohen's κ"
    line = spec["layer"][0]["encoding"]
    assert line["x"]["field"] == "rubric" and line["x"]["scale"]["domain"] == ["no rubric", "hhh@1.0.0", "hhh@1.0.1"]
    assert line["color"]["field"] == "judge" and line["color"]["scale"]["domain"] == ["j1", "j2"]
    assert line["y"]["scale"]["domain"] == [0.0, 1.0]
    assert [(row["rubric"], row["value"]) for row in values(spec)] == [("no rubric", 0.29), ("hhh@1.0.0", 0.19)]
