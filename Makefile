# Set-up, service and tests. Everything runs offline once `make install` has run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install serve test test-qdrant soak index eval bench train train-abstention clean

install: $(STAMP)

$(STAMP): requirements.txt
	@echo "installing the dependencies into $(VENV) (once; about 3 minutes) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)
	@echo "installed; next: make serve (the service) or make test (the tests)"

index: $(STAMP)
	$(PY) -m qa build

serve: $(STAMP)
	$(PY) -m qa serve --rebuild --workers $${QA_WORKERS:-2}

test: $(STAMP)
	$(PY) -m pytest -q -rs

# The Qdrant backend's tests: the store contract and the article's gold set in local mode, and
# against a real server when QA_QDRANT_URL is set (`QA_QDRANT_URL=http://qdrant-0:6333 make
# test-qdrant`); without it the server's cases are skipped with that reason.
test-qdrant: $(STAMP)
	$(PY) -m pytest -q -rs -m qdrant tests/test_store_contract.py

# The long load test (2 minutes at concurrency 16 on loopback); CI runs it after `make test`.
soak: $(STAMP)
	$(PY) -m pytest -q -rs -s -m soak

eval: $(STAMP)
	$(PY) -m qa eval

bench: $(STAMP)
	$(PY) -m qa bench

# Relearn the reader from ../shared/squad and ../shared/bench/train in two stages.
# `make train`: the SQuAD stage (about 9 minutes on one H200 with DEVICE=cuda; about 8 hours
# on 2 CPU cores, resuming from .cache/reader-train after an interruption), written to
# qa/models/reader_base_weights.npz, then the abstention stage below.
# `make train-abstention`: continues from qa/models/reader_base_weights.npz on the real
# unanswerable near-misses of ../shared/squad/v2-extra.jsonl.gz (about 46 minutes on 2 CPU
# cores, resumable), then calibrates the confidence and the caution levels on held-out
# training articles (about 15 minutes); writes qa/models/reader_weights.npz and
# qa/models/reader_calibration.json. scripts/device_train.sh runs the GPU half on a lent machine.
DEVICE ?= cpu
train: $(STAMP)
	$(PY) -m qa train --device $(DEVICE) --out qa/models/reader_base_weights.npz --fine-tune-only
	$(PY) -m qa train --stage abstention --device $(DEVICE)

train-abstention: $(STAMP)
	$(PY) -m qa train --stage abstention --device $(DEVICE)

clean:
	rm -rf index .pytest_cache
