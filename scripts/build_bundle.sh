#!/usr/bin/env bash
# Build the workstation bundle (dist/gmdesk/) from a clean checkout and smoke-test it offline.
#
#   scripts/build_bundle.sh              # CPU build: inference through OpenVINO / ONNX Runtime, no TensorFlow, no torch
#   GMDESK_BUNDLE_GPU=1 scripts/build_bundle.sh   # GPU build: + torch (CUDA), DeepLabCut, TensorFlow
#   GMDESK_BUNDLE_SKIP_POSE=1 ...        # skip the pose-estimation check (trains a tiny DLC model, ~1 min)
#   scripts/build_bundle.sh --smoke-only # test an existing dist/gmdesk again, no build
#
# Steps: dedicated venv (.venv-bundle: `.[app]` only; GPU: .venv-bundle-gpu with `.[ml,app,pose]`; non-editable
# install + PyInstaller) -> pyinstaller build.spec -> smoke test with the network cut off (a new network
# namespace when permitted):
#   the CPU bundle carries no TensorFlow/torch/CUDA library; gmdesk doctor; gmdesk assess on the demo from the
#   bundle and from source, scores compared; gmdesk-app --smoke-test (opens the demo, assesses it, prints the
#   verdict, saves a screenshot); a tiny DLC model trained and exported to ONNX by the source checkout
#   (GMDESK_SOURCE_VENV, default .venv, needs the `pose` extra), then `gmdesk pose` from the bundle (ONNX
#   Runtime) against source (DeepLabCut's torch runner): landmarks compared, and against the synthetic truth.
# Prints the bundle's size; exits non-zero on any failure. Needs Python >= 3.11 and the Qt libraries listed in
# the README.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GPU=${GMDESK_BUNDLE_GPU:-0}
if [ "$GPU" = 1 ]; then VENV=${GMDESK_BUNDLE_VENV:-.venv-bundle-gpu}; EXTRAS="ml,app,pose"
else VENV=${GMDESK_BUNDLE_VENV:-.venv-bundle}; EXTRAS="app"; fi
SRC_VENV=${GMDESK_SOURCE_VENV:-.venv}  # the checkout's own environment (with the pose extra): the "source" side
SMOKE=${GMDESK_BUNDLE_SMOKE:-build/smoke}
export PIP_DISABLE_PIP_VERSION_CHECK=1

SMOKE_ONLY=0
[ "${1:-}" = "--smoke-only" ] && SMOKE_ONLY=1
t0=$(date +%s)
t1=$t0
if [ $SMOKE_ONLY = 0 ]; then
echo "== environment ($VENV)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c constraints.txt ".[$EXTRAS]" "pyinstaller==6.22.3"
if [ "$GPU" = 1 ]; then
  # Triton (torch.compile's back end) is never used, and PyInstaller's hooks import torch and
  # TensorFlow into one process while collecting modules: Triton's LLVM would abort them.
  "$VENV/bin/python" -m pip uninstall -q -y triton || true
fi
# only the dependencies stay installed: gmdesk itself is bundled (and run as "source") from this checkout
"$VENV/bin/python" -m pip uninstall -q -y gmdesk
t1=$(date +%s)

echo "== build (GPU=$GPU)"
rm -rf build/gmdesk dist/gmdesk
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN build.spec
fi
t2=$(date +%s)
BIN=$ROOT/dist/gmdesk
echo "bundle ($([ "$GPU" = 1 ] && echo GPU || echo CPU) build): $(du -sh "$BIN" | cut -f1) in $(find "$BIN" -type f | wc -l) files; build $((t2 - t1)) s (environment $((t1 - t0)) s)"
if [ "$GPU" != 1 ]; then
  # decided by what is there, not by a list of what was meant to be left out
  # (OpenVINO's TensorFlow *front end*, a model reader its Python binding loads, is not TensorFlow)
  heavy=$(find "$BIN" \( -iname '*tensorflow*' -o -iname 'libtorch*' -o -iname 'libcu*.so*' -o -iname 'libcudnn*' \
          -o -iname 'libnccl*' -o -path '*/torch/*' -o -path '*/deeplabcut/*' \) \
          ! -iname '*openvino_tensorflow_frontend*' ! -path '*/openvino/frontend/*' ! -path '*/openvino/frontend' | head -5)
  if [ -n "$heavy" ]; then echo "FAIL the CPU bundle carries training stacks or CUDA: $heavy"; exit 1; fi
  size_mb=$(du -sm "$BIN" | cut -f1)
  echo "CPU bundle: ${size_mb} MB, no TensorFlow, torch or CUDA library (limit 1024 MB)"
  [ "$size_mb" -le 1024 ] || { echo "FAIL the CPU bundle is over 1 GB"; exit 1; }
fi

echo "== smoke test (offline)"
rm -rf "$SMOKE" && mkdir -p "$SMOKE"
OFFLINE=()
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  OFFLINE=(unshare -n)  # no network interfaces at all, not even loopback up
  echo "network: cut off (unshare -n)"
else
  echo "network: cannot make a network namespace here; relying on HF_HUB_OFFLINE=1 set by the bundle"
fi
export QT_QPA_PLATFORM=offscreen
cd "$SMOKE"  # nothing below may depend on the checkout's files: the bundle carries its own

"${OFFLINE[@]}" "$BIN/gmdesk" doctor

DEMO=$BIN/_internal/resources/demo/demo_infant.h5
MODEL=$BIN/_internal/models/demo-synthetic
"${OFFLINE[@]}" "$BIN/gmdesk" assess "$DEMO" --model "$MODEL" --json bundle_assess.json
SRC=(env PYTHONPATH="$ROOT" HF_HUB_OFFLINE=1 "$ROOT/$SRC_VENV/bin/python" -m gmdesk)  # the same code, run from source
"${SRC[@]}" assess "$ROOT/resources/demo/demo_infant.h5" --model "$ROOT/models/demo-synthetic" \
  --json source_assess.json >/dev/null
"$ROOT/$SRC_VENV/bin/python" - <<'EOF'
import json
b, s = (json.load(open(f)) for f in ("bundle_assess.json", "source_assess.json"))
pb = [x["p_abnormal"] for x in b["snippets"]]
ps = [x["p_abnormal"] for x in s["snippets"]]
diff = max(abs(x - y) for x, y in zip(pb, ps, strict=True))
assert b["verdict"] == s["verdict"] and diff < 1e-6, (b["verdict"], s["verdict"], diff)
print(f"gmdesk assess: bundle and source agree on {len(pb)} snippet scores (max |diff| {diff:.1e}) "
      f"and the verdict: {b['verdict']['basis']}")
EOF

"${OFFLINE[@]}" "$BIN/gmdesk-app" --smoke-test app

if [ "${GMDESK_BUNDLE_SKIP_POSE:-0}" != 1 ]; then
  echo "-- pose estimation: tiny DLC model trained and exported to ONNX here (source), run by the bundle and by source"
  PYTHONPATH=$ROOT HF_HUB_OFFLINE=1 "$ROOT/$SRC_VENV/bin/python" - <<'EOF' > pose_paths.txt
from pathlib import Path
from gmdesk.io.skeletons import load_skeleton
from tests.dlc_fixture import train_tiny_dlc_model, unseen_video
import numpy as np
sk = load_skeleton()
Path("dlc").mkdir(exist_ok=True)
cfg = train_tiny_dlc_model(Path("dlc").resolve(), sk)
video, truth = unseen_video(Path("unseen.mp4").resolve(), sk)
np.save("truth.npy", truth)
print(cfg, video)
EOF
  read -r CFG VIDEO < <(tail -1 pose_paths.txt)
  "${SRC[@]}" pose-export "$CFG"
  "${OFFLINE[@]}" "$BIN/gmdesk" pose "$VIDEO" --model "$CFG" --device cpu -o bundle_pose.h5 | tee bundle_pose.txt
  grep -q "openvino on cpu" bundle_pose.txt || { echo "FAIL the bundle did not run pose through OpenVINO"; exit 1; }
  "${OFFLINE[@]}" "$BIN/gmdesk" pose "$VIDEO" --model "$CFG" --device cpu --runtime onnx -o bundle_pose_ort.h5 \
    | tee bundle_pose_ort.txt
  grep -q "onnx on cpu" bundle_pose_ort.txt || { echo "FAIL the bundle did not run pose through ONNX Runtime"; exit 1; }
  if [ "$GPU" = 1 ]; then  # the GPU build also carries torch: its own torch runner must load (CUDA libraries) and agree
    "${OFFLINE[@]}" "$BIN/gmdesk" pose "$VIDEO" --model "$CFG" --device cpu --runtime torch -o bundle_pose_torch.h5
  fi
  "${SRC[@]}" pose "$VIDEO" --model "$CFG" --device cpu --runtime torch -o source_pose.h5 >/dev/null
  PYTHONPATH=$ROOT "$ROOT/$SRC_VENV/bin/python" - <<'EOF'
import numpy as np
from gmdesk.io.dlc import read_dlc
b, s = read_dlc("bundle_pose.h5"), read_dlc("source_pose.h5")
truth = np.load("truth.npy")
d = np.nanmax(np.abs(b.xy - s.xy))
err = np.median(np.linalg.norm(b.xy - truth, axis=-1))
assert d < 1e-3 and err < 6.0, (d, err)
import os
if os.path.exists("bundle_pose_torch.h5"):
    t = read_dlc("bundle_pose_torch.h5")
    dt = np.nanmax(np.abs(t.xy - s.xy))
    assert dt < 1e-3, dt
    print(f"gmdesk pose --runtime torch from the bundle agrees with source (max |diff| {dt:.1e} px)")
print(f"gmdesk pose: bundle (ONNX Runtime) and source (torch) agree (max |diff| {d:.1e} px); median error vs "
      f"truth {err:.2f} px")
EOF
fi
t3=$(date +%s)
echo "== done: bundle $BIN ($(du -sh "$BIN" | cut -f1)), build $((t2 - t1)) s, smoke test $((t3 - t2)) s"
