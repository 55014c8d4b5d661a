# Two commands do all the set-up on a fresh machine:
#   make study   the study on its offline default (the `cpu` preset); PRESET=smoke|cpu|paper|file.yaml
#   make test    the test suite (fast tests + nbval on every notebook)
#   make notebooks  execute the analysis notebooks in place on figures/results.csv (commit them)
#   make suite   rebuild the cpu study's pretrained mini-suite suite/mixed8k-40m-a27/ (not needed:
#                it is committed); SUITE=mixed8k-40m|mixed8k|deep20|stream rebuilds
#                suite/mixed8k-40m/ (the cpu-a32 preset's), suite/mixed8k/ (10M tokens per member,
#                the cpu-10m preset's), suite/deep20/ or the first suite in suite/;
#                SUITE=deep|mixed builds suite/deep/ or suite/mixed/,
#                SUITE=mixed8k-40m-a27-offgrid|mixed8k-40m-offgrid|mixed8k-offgrid the off-grid
#                sizes of cpu-offgrid, cpu-a32-offgrid and cpu-10m-offgrid (manifests committed,
#                weights not; a member another suite holds under its key is copied, not rebuilt)
#                (rerankscale.models.suite.SUITES)
#   make test-slurm  start a single-node SLURM here (root, apt-get), run tests/test_slurm.py, stop it
# Each creates .venv and installs the project on first use.

PYTHON  ?= python3
VENV    ?= .venv
PRESET  ?= cpu
WORKERS ?= 2
SUITE   ?= mixed8k-40m-a27
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed
export IR_DATASETS_HOME ?= $(CURDIR)/.cache/ir_datasets
export PYTHONHASHSEED = 0

.PHONY: study notebooks suite test test-all test-slurm lint lab bench figures clean-runs

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	# torch pinned: pip takes the local CPU wheel instead of pulling CUDA packages
	$(BIN)/pip install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,slurm]" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import torch, transformers, rerankscale, ranx, ir_datasets, nbval, papermill"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "rerankscale (.venv)" >/dev/null
	touch $(STAMP)

study: $(STAMP)
	$(BIN)/rerankscale sweep --preset $(PRESET) --workers $(WORKERS)

notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --preset $(PRESET)

suite: $(STAMP)
	$(BIN)/rerankscale suite --workers $(WORKERS) --suite "$(SUITE)"

figures: $(STAMP)
	$(BIN)/rerankscale figures --preset $(PRESET)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q tests
	$(BIN)/python -m pytest -q --nbval-lax notebooks/

test-all: $(STAMP)
	$(BIN)/python -m pytest -q tests
	$(BIN)/python -m pytest -q --nbval-lax notebooks/

# the sweep on a real scheduler (tools/slurm/start.sh: munge, MariaDB + slurmdbd, slurmctld,
# one slurmd); the cluster is stopped again whatever the tests say
test-slurm: $(STAMP)
	tools/slurm/start.sh
	$(BIN)/python -m pytest -q -s --basetemp=/tmp/rerankscale-test-slurm tests/test_slurm.py; \
	  rc=$$?; tools/slurm/stop.sh; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check rerankscale tests bench tools
	$(BIN)/ruff format --check rerankscale tests bench tools

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e ".[bench]" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python bench/bench_fit.py
	$(BIN)/python bench/bench_rerank.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_pretrain.py

clean-runs:
	rm -rf runs/
