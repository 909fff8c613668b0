"""The report's A4 pages drawn with matplotlib: text, the snippet timeline and its legend (PDF, TrueType text)."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

from gmdesk.io.atomic import atomic_path
from gmdesk.plots.backend import pyplot
from gmdesk.screening.result import snippet_step
from gmdesk.text import escape_controls, shorten

logger = logging.getLogger(__name__)

#: The colour of what a model not validated on its cohort says (the app's amber).
AMBER = "#b9770e"


#: The report timeline's bar colours and alphas (its legend uses the same).
NORMAL_BAR, ABNORMAL_BAR, BAR_ALPHA, BORDERLINE_ALPHA = "#2471a3", "#c0392b", 0.85, 0.4


def draw_timeline(ax: Any, c: Any) -> None:
    """The snippet timeline of a collected report ``c`` (P(abnormal) bars, left-out windows, legend) on ``ax``."""
    import matplotlib.patches as mpatches  # deferred with matplotlib itself (see gmdesk.plots.backend)

    res = c.result
    sn = res.snippets
    window = res.window_s  # seconds of the recording, whatever its frame rate
    decision = float(c.model.get("decision", 0.5))
    marks = {mk["snippet"]: mk["mark"] for mk in c.review.get("snippet_marks", [])}
    # a bar at each snippet's centre, narrower than the step between snippets (5 s at the paper's overlap, 1.67 s at
    # the selection's 250 frames) so that no bar hides the next
    step = snippet_step([s["start_s"] for s in sn], window)
    for i, s in enumerate(sn):
        p = float(s["p_abnormal"])
        colour = ABNORMAL_BAR if p >= decision else NORMAL_BAR
        ax.bar(s["start_s"] + window / 2, p, width=min(window * 0.45, step * 0.9), color=colour,
               alpha=BORDERLINE_ALPHA if abs(p - 0.5) <= 0.1 else BAR_ALPHA,
               edgecolor="black" if marks.get(i) == "disagree" else "none", linewidth=1.2)
    for w in c.quality.get("left_out", []):
        try:
            a, b = (float(x) for x in w.split(" s:")[0].split("-"))
        except ValueError:
            continue
        ax.axvspan(a, b, color="0.85", zorder=0)
    ax.axhline(decision, color="0.3", linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlim(0, max(c.recording.get("duration_s") or 0, max((s["start_s"] + window for s in sn), default=10)))
    ax.set_xlabel("time in the recording (s)")
    ax.set_ylabel("P(abnormal) per 10-s snippet")
    # the legend's swatches are the bars' own colours and alphas (a borderline bar keeps its class's colour)
    ax.legend(handles=[mpatches.Patch(color=NORMAL_BAR, alpha=BAR_ALPHA, label="normal snippet"),
                       mpatches.Patch(color=ABNORMAL_BAR, alpha=BAR_ALPHA, label="abnormal snippet"),
                       mpatches.Patch(color=NORMAL_BAR, alpha=BORDERLINE_ALPHA, label="borderline normal (P within 0.1 of 0.5)"),
                       mpatches.Patch(color=ABNORMAL_BAR, alpha=BORDERLINE_ALPHA, label="borderline abnormal"),
                       mpatches.Patch(facecolor="white", edgecolor="black", label="reviewer disagreed"),
                       mpatches.Patch(color="0.85", label="left out: missing data")],
              fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)


def draw_report_pdf(content: Any, path: Path) -> Path:
    """Write a collected report (:class:`gmdesk.record.report.ReportContent`) as a two-page A4 PDF, atomically.
    Text is real text (TrueType), so it can be searched and read back."""
    plt = pyplot()
    import matplotlib  # deferred with matplotlib itself (see gmdesk.plots.backend)
    from matplotlib.backends.backend_pdf import PdfPages

    lines = content.text_lines()
    a4 = (8.27, 11.69)
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans", "svg.hashsalt": "gmdesk"}), \
            atomic_path(path) as tmp, PdfPages(tmp, metadata={"Creator": f"gmdesk {content.gmdesk_version}",
                                                              "Producer": "gmdesk", "CreationDate": None}) as pdf:
        pages = [[], []]
        for head, line in lines:
            pages[0 if head in ("Infant", "Recording", "Quality", "Result") else 1].append((head, line))
        for k, page in enumerate(pages):
            fig = plt.figure(figsize=a4)
            _text(fig, 0.06, 0.965, "General Movements Assessment — gmdesk report", fontsize=14, weight="bold")
            _text(fig, 0.06, 0.945, f"Infant {shorten(content.infant_id, 60)} · page {k + 1} of 2 · NOT A MEDICAL DEVICE: "
                                    "a screening aid for review by a GMA-certified clinician", fontsize=7.5, color="#7b241c")
            y = 0.915
            if not content.result.validated:
                _text(fig, 0.06, 0.928, "RESEARCH ONLY — the model is not validated on its cohort: its verdict is not a "
                                      "clinical result", fontsize=8.5, weight="bold", color=AMBER)
                y -= 0.01
            head = None
            for h, line in page:
                if h != head:
                    y -= 0.012
                    _text(fig, 0.06, y, h, fontsize=10, weight="bold")
                    y -= 0.02
                    head = h
                bold = line.startswith(("Result:", "SCORABLE", "NOT SCORABLE", "WARNING", "OUT OF DATE", "NOT VALIDATED"))
                colour = AMBER if line.startswith(("Result: RESEARCH ONLY", "NOT VALIDATED")) else "black"
                for wrapped in _wrap(line, 118, MAX_FIELD_LINES):
                    _text(fig, 0.08, y, wrapped, fontsize=7.5, weight="bold" if bold else "normal", color=colour)
                    y -= 0.0155
            if k == 0:
                ax = fig.add_axes((0.1, max(0.08, y - 0.24), 0.84, 0.17))
                draw_timeline(ax, content)
            _text(fig, 0.06, 0.02, f"case {content.case_file} · gmdesk {content.gmdesk_version} · reproducible from the case "
                                 "file and the model", fontsize=6, color="0.4")
            pdf.savefig(fig)
            plt.close(fig)
    return path


#: Most lines one field of the report takes; a longer one is cut with "…" (the case holds it whole).
MAX_FIELD_LINES = 4


def _wrap(text: str, width: int, most: int | None = None) -> list[str]:
    """``text`` in lines of ``width`` characters, at most ``most`` of them (the last ending "…" when cut)."""
    lines = textwrap.wrap(escape_controls(text, keep=""), width, break_long_words=True) or [""]
    if most is not None and len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 2] + " …"
    return lines


def _text(fig, x: float, y: float, s: str, **kw):  # noqa: ANN001, ANN202 - a matplotlib figure and its Text
    """Text drawn as written: no mathtext (``$5 and $7`` stays money), control characters shown as escapes."""
    return fig.text(x, y, escape_controls(s, keep=""), parse_math=False, usetex=False, **kw)
