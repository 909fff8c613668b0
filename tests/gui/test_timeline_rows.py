"""The snippet timeline with dense snippets (a window every 1.67 s at the selection's 250-frame overlap): as many
rows as snippets overlap at one instant, so every band can be reached with the mouse and none hides another."""

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.views import SnippetTimeline  # noqa: E402
from tests.gui.editor_support import LEFT, band_pos  # noqa: E402


def snippets(step_frames: int, n: int, fps: float = 29.97) -> list[dict]:
    rng = np.random.default_rng(3)
    return [{"index": i, "start_s": i * step_frames / fps, "start_frame": i * step_frames, "p_abnormal": float(p),
             "class": "abnormal" if p >= 0.5 else "normal", "imputed_fraction": 0.0, "flags": []}
            for i, p in enumerate(rng.uniform(0, 1, n))]


@pytest.mark.parametrize(("step", "rows"), [(150, 2), (50, 6)])
def test_every_band_is_reached_by_the_mouse_and_bands_in_a_row_do_not_overlap(qtbot, step, rows):
    tl = SnippetTimeline()
    qtbot.addWidget(tl)
    tl.resize(1000, 160)
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_snippets(snippets(step, 20), 10.0)
    assert tl.n_rows == rows
    for r in range(rows):  # the bands of one row follow each other without overlapping
        starts = [s["start_s"] for i, s in enumerate(tl.snippets) if i % rows == r]
        assert np.all(np.diff(starts) >= 10.0 - 1e-9)
    seen = []
    tl.on_hover = seen.append
    for i in (0, 3, 4, 11, 19):
        qtbot.mouseMove(tl.viewport(), pos=band_pos(tl, i, 5.0))
        qtbot.waitUntil(lambda i=i: tl.hover_info.startswith(f"snippet {i + 1}:"), timeout=3000)
    chosen = []
    tl.open_snippet = chosen.append
    qtbot.mouseClick(tl.viewport(), LEFT, pos=band_pos(tl, 7, 2.0))
    assert chosen == [7]
    assert "snippet 8: " + ("35–45" if step == 150 else "11.7–21.7") + " s" in tl.describe(7)
