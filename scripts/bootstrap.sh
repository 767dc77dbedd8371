#!/usr/bin/env bash
# Create ./.venv and install sdqueue into it (editable), with the given extras (e.g. "test").
# Machines without a GPU (no nvidia-smi) use constraints/cpu.txt: PyPI's torch build (runs on the CPU) with the
# torchvision that model upscalers need, and the tested versions. GPU machines install without it and keep the
# torch they have (add the `upscale` extra there once torchvision matches your torch). Re-runs are cheap: a stamp file records
# what was installed and nothing is done while pyproject.toml and the constraints are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "sdqueue needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

constraints=()
if [ -z "${SDQ_GPU_INSTALL:-}" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  constraints=(-c constraints/cpu.txt)
  extras="upscale${extras:+,$extras}"
fi
spec=".${extras:+[$extras]}"
stamp=".venv/.sdqueue-installed"
want="$(cat pyproject.toml constraints/cpu.txt | sha256sum | cut -d' ' -f1) ${spec} ${constraints[*]:-}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$spec" "${constraints[@]}"
  # invisible-watermark requires the GUI opencv-python, whose cv2/ would overwrite the headless build's: it is
  # installed on its own, without dependencies (the ones it uses, PyWavelets and opencv, come with sdqueue's).
  .venv/bin/python -m pip install -q --no-deps "invisible-watermark==0.2.0"
  echo "$want" > "$stamp"
fi
