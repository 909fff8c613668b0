"""The snippet timeline with dense snippets (a window every 1.67 s at the selection's 250-frame overlap): as many
rows as snippets overlap at one instant, so every band can be reached with the mouse and none hides another — also
when windows left out for missing data leave holes in the sequence."""

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from app.views import SnippetTimeline  # noqa: E402
from tests.gui.editor_support import LEFT, band_pos, drawn_bands  # noqa: E402


def snippets(step_frames: int, n: int, keep=None, fps: float = 29.97) -> list[dict]:
    rng = np.random.default_rng(3)
    idx = [k for k in range(n) if keep is None or keep[k % len(keep)]]
    return [{"index": i, "start_s": round(k * step_frames / fps, 3), "start_frame": k * step_frames,
             "p_abnormal": float(rng.uniform(0, 1)), "class": "normal", "imputed_fraction": 0.0, "flags": []}
            for i, k in enumerate(idx)]


def overlapping_pairs(bands) -> list[tuple[int, int]]:
    """Pairs of drawn bands that cover the same area (same row, overlapping in time)."""
    out = []
    for i, (x, y, w, _) in enumerate(bands):
        for j, (x2, y2, _, _) in enumerate(bands[i + 1:], i + 1):
            if abs(y - y2) < 1e-9 and x2 < x + w - 1e-6 and x < x2 + w - 1e-6:
                out.append((i, j))
    return out


@pytest.mark.parametrize(("step", "rows", "keep"), [(150, 2, None), (50, 6, None), (50, 6, (1, 1, 0, 1, 0)),
                                                    (50, 6, (1, 1, 0, 0, 1, 0, 0))])
def test_every_band_is_reached_by_the_mouse_and_no_band_hides_another(qtbot, step, rows, keep):
    tl = SnippetTimeline()
    qtbot.addWidget(tl)
    tl.resize(1000, 160)
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_snippets(snippets(step, 40, keep), 10.0)
    assert tl.n_rows == rows
    bands = drawn_bands(tl)
    assert overlapping_pairs(bands) == []
    assert len({round(b[1], 6) for b in bands}) == rows
    for i in (0, 3, 4, 11, len(bands) - 1):
        qtbot.mouseMove(tl.viewport(), pos=band_pos(tl, i, 5.0))
        qtbot.waitUntil(lambda i=i: tl.hover_info.startswith(f"snippet {i + 1}:"), timeout=3000)
    chosen = []
    tl.open_snippet = chosen.append
    qtbot.mouseClick(tl.viewport(), LEFT, pos=band_pos(tl, 7, 2.0))
    assert chosen == [7]
    if keep is None:
        assert "snippet 8: " + ("35–45" if step == 150 else "11.7–21.7") + " s" in tl.describe(7)
