import json

import numpy as np

from gmdesk.pipeline.cleaning import clean_track
from gmdesk.pipeline.features import compute_features
from gmdesk.pipeline.review import ReviewItem, items_from_report, report_document, review_frames, review_queue
from gmdesk.pipeline.snippets import cut_snippets, window_coverage
from gmdesk.record.case import create_case
from gmdesk.synthetic.cohorts import make_infant
from gmdesk.synthetic.settings import SynthSettings


def _planted(skeleton):
    inf = make_infant("R", 0, [51, 1], SynthSettings(artefacts=False), skeleton, n_frames=1800)
    t = inf.track.copy()
    lh, rh = skeleton.index("left_hand"), skeleton.index("right_hand")
    t.xy[400:460, [lh, rh]] = t.xy[400:460, [rh, lh]]  # a 2-s hand swap
    t.xy[900:960, skeleton.index("left_knee")] = np.nan  # a 2-s knee gap: too long to fill
    t.xy[1300:1345, rh] = np.nan  # 1.5 s of a hand: filled in the wrist's frame, flagged
    t.likelihood[1500:1510, skeleton.index("nose")] = 0.2  # 10 low-likelihood frames
    left = [skeleton.index(a) for a, _ in skeleton.mirror_pairs]
    right = [skeleton.index(b) for _, b in skeleton.mirror_pairs]
    t.xy[1100:1130, left + right] = t.xy[1100:1130, right + left]  # whole side, 1 s
    return inf, t


def test_review_queue_lists_every_repair_and_gap_most_important_first(skeleton):
    inf, t = _planted(skeleton)
    cleaned, rep = clean_track(t, skeleton)
    items = review_queue(cleaned, rep, len(skeleton.mirror_pairs))
    kinds = {(it.kind, it.landmark, it.start, it.stop) for it in items}
    assert ("gap", "left_knee", 900, 960) in kinds
    assert ("swap", "left_hand ↔ right_hand", 400, 460) in kinds
    assert ("side_swap", "whole side", 1100, 1130) in kinds
    assert ("long_fill", "right_hand", 1300, 1345) in kinds
    assert any(k[0] == "low_likelihood" and k[1] == "nose" and k[2] == 1500 for k in kinds)
    assert [it.importance for it in items] == sorted((it.importance for it in items), reverse=True)
    assert items[0].kind == "gap"  # it costs windows
    side = next(it for it in items if it.kind == "side_swap")
    assert len(side.landmarks) == 2 * len(skeleton.mirror_pairs) and side.confidence > 0.5
    assert len({it.key for it in items}) == len(items)
    assert [ReviewItem.from_dict(json.loads(json.dumps(it.to_dict()))) for it in items] == items
    assert list(review_frames(items)) == sorted({it.start for it in items})


def test_coverage_says_why_windows_are_left_out_and_flags_long_fills(skeleton):
    inf, t = _planted(skeleton)
    cleaned, rep = clean_track(t, skeleton)
    cov = window_coverage(cleaned)
    assert cov["windows"] == 11 and cov["windows_kept"] == 9
    assert [w["start"] for w in cov["left_out"]] == [750, 900] and cov["left_out"][0]["missing"] == {"left_knee": 60}
    assert cov["missing_by_landmark"] == {"left_knee": 120}
    assert cov["usable_share"] < 1 and cov["usable_frames"] == 1800 - 150  # 750-900 is not in any kept window
    assert {f["start"] for f in cov["flagged"]} == {1050, 1200} and all(f["landmark"] == "right_hand" for f in cov["flagged"])
    feats, layout = compute_features(cleaned, skeleton, "angles")
    snips = cut_snippets(feats, layout, cleaned, "R", 0)
    assert {d["start"] for d in snips.dropped} == {750, 900} and snips.dropped[0]["missing"] == {"left_knee": 60}
    assert {f["start"] for f in snips.flags} == {1050, 1200}


def test_a_case_stores_the_review_queue_with_its_cleaning(tmp_path, skeleton):
    inf, t = _planted(skeleton)
    with create_case(tmp_path / "r.gmcase", t) as case:
        case.clean(skeleton)
        settings, doc = case.cleaning()
    items = items_from_report(doc)
    assert any(it.kind == "swap" and it.start == 400 for it in items) and doc["coverage"]["windows_kept"] == 9
    cleaned, rep = clean_track(t, skeleton)
    assert [it.key for it in items] == [it.key for it in review_queue(cleaned, rep, len(skeleton.mirror_pairs))]
    assert report_document(cleaned, rep)["swaps"][0]["start"] == 400
