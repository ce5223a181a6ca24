# livehost: `make demo` sets everything up and runs the demo channel;
# `make test` sets everything up and runs the tests.  Both are idempotent.

PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
APT_PACKAGES := nginx libnginx-mod-rtmp espeak-ng libespeak-ng1 fonts-wqy-microhei chromium obs-studio xvfb
ARGS ?=

.PHONY: setup system-packages demo test check bench clean

setup: system-packages $(STAMP)

system-packages:
	@bash docker/install-system-packages.sh $(APT_PACKAGES)

# the same install script as the Docker images (docker/install.sh)
$(STAMP): pyproject.toml docker/install.sh
	$(PY) -m venv $(VENV)
	bash docker/install.sh $(VENV)/bin/python piper,llm,photoreal,neural,face,voice,obs,fleet,test
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/livehost demo $(ARGS)

test: setup check
	$(VENV)/bin/pytest -q $(ARGS)

# the layout stays as designed: lint, types, and the import contracts (floors, no circles)
check: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python bench/channel_cpu.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info
