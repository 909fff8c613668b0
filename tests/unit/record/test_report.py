"""The clinician's report (issue #14): a PDF whose text holds the verdict, its basis, the corrected age,
the recording's quality, the model and its validation, the reviewer and the corrections made by hand."""

import datetime as dt
import shutil

import pytest

from gmdesk.cli.main import main
from gmdesk.io.resources import bundle_path, demo_path
from gmdesk.record.case import open_case
from gmdesk.record.patient import ReportError, corrected_age, parse_gestational_age, validate_patient_field
from gmdesk.record.store import CaseError

pypdf = pytest.importorskip("pypdf")


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    pose = shutil.copy(demo_path("demo_infant.h5"), d / "demo_infant.h5")
    case = d / "demo.gmcase"
    assert main(["case", "new", str(case), str(pose), "--infant-id", "DEMO-7"]) == 0
    assert main(["case", "patient", str(case), "--date-of-birth", "2026-03-02", "--gestational-age", "36+2",
                 "--recording-date", "2026-06-15", "--reviewer", "Dr Ana Ruiz"]) == 0
    with open_case(case, author="annotator1") as c:
        c.move(100, "left_hand", 500.0, 400.0)
        c.move(101, "left_hand", 502.0, 401.0)
    assert main(["case", "assess", str(case), "--bundle", str(bundle_path())]) == 0
    assert main(["case", "review", str(case), "--snippet", "2", "--mark", "disagree", "--note", "looks fidgety"]) == 0
    assert main(["case", "signoff", str(case), "--reviewer", "Dr Ana Ruiz", "--comment", "agree with absent FMs"]) == 0
    return case


def test_gmdesk_report_writes_the_record(demo_case, tmp_path, capsys):
    out = tmp_path / "r.pdf"
    assert main(["report", str(demo_case), "-o", str(out)]) == 0
    text = pdf_text(out)
    with open_case(demo_case, read_only=True) as c:
        res = c.results()[-1]
    v = res["verdict"]
    assert "Infant ID: DEMO-7" in text
    assert "gestational age at birth: 36+2 weeks" in text
    # 2026-03-02 to 2026-06-15 is 105 days = 15.0 weeks; 36+2 weeks at birth: 15.0 - 3.71 = 11.3 weeks post-term
    assert "corrected (post-term) age 11.3 weeks" in text and "WARNING" not in text
    if res["model"].get("validation", {}).get("validated"):
        assert f"Result: {v['verdict'].upper()}" in text and v["basis"][:40] in text
    else:  # the demo model (made before gmdesk checked models against chance): never a plain verdict
        assert "Result: RESEARCH ONLY — MODEL NOT VALIDATED ON ITS COHORT" in text and v["basis"][:40] in text
        assert f"Model output, not a clinical result: {v['verdict'].upper()}" in text
        assert f"Result: {v['verdict'].upper()}" not in text and "NOT VALIDATED on its cohort — research only" in text
    assert "Fidgety movements absent or abnormal" in text or "Fidgety movements present" in text or "Indeterminate" in text
    assert "Landmark points: observed" in text and "10-s windows usable" in text and "SCORABLE" in text
    assert "Model: demo-synthetic" in text and "SYNTHETIC training data" in text and "Not a medical device." in text
    assert "Validation:" in text
    # the demo model names the clinical finding behind each abnormal snippet; the report counts them
    abnormal = [s for s in res["snippets"] if s["class"] == "abnormal"]
    assert abnormal and all(s["finding"] in ("fidgety movements not seen", "exaggerated movements",
                                             "synchronised limbs") for s in abnormal)
    assert all(s["finding"] == "" for s in res["snippets"] if s["class"] == "normal")
    most = max({s["finding"] for s in abnormal}, key=[s["finding"] for s in abnormal].count)
    flat = " ".join(text.split())
    assert f"Findings behind the abnormal snippets: {most} in" in flat and f"of {len(abnormal)} abnormal snippets" in flat
    assert "Manual edits: 2" in text and "annotator1: 2" in text
    assert "snippet 2" in text and "disagree" in text and "looks fidgety" in text
    assert "Reviewed by Dr Ana Ruiz" in text and "agree with absent FMs" in text
    assert len(pypdf.PdfReader(str(out)).pages) == 2


def test_the_report_is_reproducible(demo_case, tmp_path):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert main(["report", str(demo_case), "-o", str(a)]) == 0
    assert main(["report", str(demo_case), "-o", str(b)]) == 0
    assert pdf_text(a) == pdf_text(b)


def test_edits_after_the_result_mark_it_out_of_date(demo_case, tmp_path):
    copy = tmp_path / "late.gmcase"
    shutil.copy(demo_case, copy)
    with open_case(copy) as c:
        c.delete(200, "nose")
        st = c.result_status()
        assert st["out_of_date"] and st["edits_since"] == 1
    out = tmp_path / "late.pdf"
    assert main(["report", str(copy), "-o", str(out)]) == 0
    assert "OUT OF DATE: the landmarks were changed after this result (1 edit-log entry since)" in pdf_text(out)
    with open_case(copy) as c:
        c.undo()
        assert not c.result_status()["out_of_date"]  # the edit taken back: the result holds again
    assert main(["report", str(copy), "-o", str(out)]) == 0
    text = pdf_text(out)
    assert "OUT OF DATE" not in text and "2 edit-log entries after this result cancel out" in text
    with open_case(copy) as c:
        c.redo()
        assert c.result_status()["out_of_date"]


def test_corrected_age_and_its_warning():
    ok = corrected_age("2026-01-10", "2026-04-18", "40")
    assert ok["chronological_days"] == 98 and ok["postterm_weeks"] == 14.0 and ok["warning"] is None
    early = corrected_age("2026-01-10", "2026-02-20", "32+0")  # 6 weeks old, born 8 weeks early: -2 weeks
    assert early["postterm_weeks"] == pytest.approx(-2.14, abs=0.01) and "outside the fidgety period" in early["warning"]
    assert parse_gestational_age("38+3") == pytest.approx(38 + 3 / 7)
    with pytest.raises(ReportError, match="outside 22-44 weeks"):
        parse_gestational_age("50")
    with pytest.raises(ReportError, match="weeks\\+days"):
        parse_gestational_age("38+9")


def test_patient_fields_are_validated_and_logged(demo_case, tmp_path):
    copy = tmp_path / "p.gmcase"
    shutil.copy(demo_case, copy)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    with open_case(copy) as c:
        for field, value, message in [("date_of_birth", "2026-13-01", "is not a date"), ("recording_date", future, "future"),
                                      ("recording_date", "2026-01-01", "before the date of birth"),
                                      ("gestational_age", "19", "outside 22-44"), ("height", "60", "unknown field")]:
            with pytest.raises((CaseError, ReportError), match=message):
                c.set_patient_field(field, value)
        c.set_patient_field("reviewer", "Dr B")
        c.set_patient_field("reviewer", "Dr C")
        assert c.patient()["reviewer"] == "Dr C"
        assert [a["value"]["value"] for a in c.annotations("patient") if a["subject"]["field"] == "reviewer"] == \
               ["Dr Ana Ruiz", "Dr B", "Dr C"]
    assert validate_patient_field("gestational_age", "38.50") == "38.5"


def test_a_case_without_a_result_has_no_report(tmp_path, capsys):
    pose = shutil.copy(demo_path("demo_infant.h5"), tmp_path / "d.h5")
    assert main(["case", "new", str(tmp_path / "x.gmcase"), str(pose), "--no-clean"]) == 0
    assert main(["report", str(tmp_path / "x.gmcase"), "-o", str(tmp_path / "x.pdf")]) == 1
    assert "no assessment yet" in capsys.readouterr().err and not (tmp_path / "x.pdf").exists()


def test_a_bad_date_beside_another_names_its_field():
    with pytest.raises(ReportError, match="recording date '2026-02-30' is not a date"):
        validate_patient_field("date_of_birth", "2026-01-10", {"recording_date": "2026-02-30"})


def test_the_timeline_legend_has_the_bars_colours(demo_case):
    import numpy as np

    from gmdesk.plots.backend import pyplot
    from gmdesk.plots.report_pages import draw_timeline
    from gmdesk.record.report import collect_report

    plt = pyplot()
    with open_case(demo_case, read_only=True) as c:
        content = collect_report(c)
    # a borderline snippet on each side of the decision, whatever the model said
    content.result.snippets[0]["p_abnormal"], content.result.snippets[1]["p_abnormal"] = 0.45, 0.55
    fig, ax = plt.subplots()
    draw_timeline(ax, content)
    bars = {tuple(np.round(p.get_facecolor(), 3)) for p in ax.patches if p.get_height() > 0 and p.get_width() < 20}
    legend = {h.get_label(): tuple(np.round(h.get_facecolor(), 3)) for h in ax.get_legend().get_patches()}
    assert bars <= set(legend.values())  # every bar's (and left-out span's) colour is in the legend, alpha included
    snippet_swatches = {v for k, v in legend.items() if "snippet" in k or "borderline" in k}
    assert len(snippet_swatches) == 4  # normal, abnormal, borderline normal, borderline abnormal
    plt.close(fig)
