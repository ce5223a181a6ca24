#!/usr/bin/env bash
# The one install, for `make setup` and both images: system packages, then livehost with its extras.
#   install.sh PYTHON EXTRAS [APT_PACKAGE ...]
# PYTHON: the interpreter of the environment to install into; EXTRAS: e.g. piper,face,obs.
# PIP_EXTRA_INDEX_URL chooses the torch build (the CPU image points it at PyTorch's CPU wheels).
set -euo pipefail
py=$1
extras=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/install-system-packages.sh" "$@"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet -e "$here/..[$extras]"
# torchaudio 2.11's CUDA-built extension cannot load on a CPU torch 2.13; without it torchaudio runs in Python
if [ "$("$py" -c 'import torch; print(torch.cuda.is_available() or torch.version.cuda is not None)' 2>/dev/null || echo none)" = "False" ]; then
  rm -f "$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/torchaudio/lib/_torchaudio.abi3.so
fi
