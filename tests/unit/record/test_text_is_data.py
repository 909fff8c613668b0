"""Text from files is data (issue #23): escape sequences and bidirectional overrides from a case reach the
terminal as escapes, the PDF draws text literally (no mathtext) and keeps long fields on the page, and a field
over its limit is refused, never cut silently."""

import shutil

import pytest

from gmdesk.cli.main import main
from gmdesk.io.resources import bundle_path, demo_path
from gmdesk.record.case import open_case
from gmdesk.record.store import CaseError

pypdf = pytest.importorskip("pypdf")

ESCAPES = "Dr \x1b]0;owned\x07Ruiz\x1b[2J \u202eevil"
LONG_ID = "I" * 100_000


@pytest.fixture(scope="module")
def hostile_case(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    pose = shutil.copy(demo_path("demo_infant.h5"), d / "demo_infant.h5")
    case = d / "demo.gmcase"
    assert main(["case", "new", str(case), str(pose), "--infant-id", LONG_ID]) == 0
    assert main(["case", "assess", str(case), "--bundle", str(bundle_path())]) == 0
    with open_case(case) as c:  # as another program (or a hand-edited file) may have stored them
        c.set_patient_field("site", ESCAPES)
        c.sign_off(c.results()[-1]["id"], ESCAPES, "fee $5 and $7; $\\notacommand$ " + "long " * 300)
    return case


def test_escape_sequences_reach_the_terminal_as_escapes(hostile_case, capsys):
    assert main(["case", "info", str(hostile_case)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "Dr \\x1b]0;owned\\x07Ruiz\\x1b[2J \\u202eevil" in out


def test_the_pdf_draws_text_literally_and_keeps_long_fields_on_the_page(hostile_case, tmp_path):
    out = tmp_path / "r.pdf"
    assert main(["report", str(hostile_case), "-o", str(out)]) == 0
    pages = [p.extract_text() for p in pypdf.PdfReader(str(out)).pages]
    assert len(pages) == 2
    text = "\n".join(pages)
    assert "fee $5 and $7; $\\notacommand$" in text  # money stays money; no mathtext error
    assert "Result:" in pages[0]  # not pushed off the page by the 100 000-character infant id
    assert "…" in pages[0] and LONG_ID[:1000] not in text.replace("\n", "")  # cut to a few lines, marked
    assert "\x1b" not in text and "\\x1b" in text


def test_a_sign_off_comment_over_its_limit_is_refused_not_cut(hostile_case, capsys):
    with open_case(hostile_case) as c:
        before = c.latest_sign_off(c.results()[-1]["id"])
    assert main(["case", "signoff", str(hostile_case), "--reviewer", "Dr B", "--comment", "x" * 5000]) == 1
    assert "5000 characters, more than the 4000" in capsys.readouterr().err
    with open_case(hostile_case) as c:
        assert c.latest_sign_off(c.results()[-1]["id"]) == before
    with open_case(hostile_case) as c, pytest.raises(CaseError, match="more than the 4000"):
        c.sign_off(c.results()[-1]["id"], "Dr B", "y" * 4001)
