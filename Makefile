# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   set up .venv and run the main job on the embedded synthetic benchmark
#   make test   set up .venv and run the offline test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast test-portability lint format clean

setup: $(STAMP)

$(STAMP): setup.py pyproject.toml Makefile
	@# a .venv of another Python (or one left half-built) is rebuilt
	@$(BIN)/python -c "import sys, pip; sys.exit(sys.version_info < (3, 11))" 2>/dev/null || \
		(rm -rf $(VENV) && $(PYTHON) -m venv $(VENV))
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# the CPU wheel of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
	$(BIN)/python -m pip install --quiet -e ".[dev,faiss,tensorboard,viz,app,video]"
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/dmr-jrg demo --output-dir outputs/demo

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# the tests a developer runs while working: everything but the end-to-end ones (demo, app, bench, fresh processes)
test-fast: setup
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# the bf16 and equality tests again, as a CPU without bf16 kernels and on one thread (README, Tests)
test-portability: setup
	HF_HUB_OFFLINE=1 ONEDNN_MAX_CPU_ISA=AVX2 $(BIN)/python -m pytest -q -m portability
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m portability

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs build dist *.egg-info
