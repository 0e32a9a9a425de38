# The README's two commands are the first two targets: `make book` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
RUN    := $(PY) -m ids_utils

# TensorFlow start-up chatter stays out of logs and notebooks; hashing is seeded.
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

.PHONY: book test lint venv data unit unit-alone unit-run nbval book-ci check-html chromium notebooks lab mutation clean

## book: set up, fetch the data, run the paper profile, build the HTML into _build/html
book: data
	$(RUN) pipeline --profile paper
	$(RUN) build-book --run-dir runs/paper

## test: ruff, then a strict build of a ci run with the unit tests that need no run beside it, then,
## side by side, the pipeline tests (reusing that run), nbval over the notebooks (ci profile), and
## the build checked page by page in headless Chromium. No stage executes twice: the run's own
## same-settings rerun (the baselines chapter) is its determinism check. Chromium is installed,
## when missing, while the pipeline runs; the last three keep their output together (-O).
test: data lint
	$(MAKE) -j3 book-ci unit-alone chromium
	$(MAKE) -j3 -O unit-run nbval check-html CI_RUN=$(CURDIR)/runs/ci NBVAL_RUN=$(CURDIR)/runs/ci

venv: $(VENV)/.installed

## lint: ruff over the package, the tests and the notebooks (configuration in pyproject.toml)
lint: venv
	$(VENV)/bin/ruff check ids_utils tests notebooks
	$(VENV)/bin/ruff format --check ids_utils tests

# uv installs the same pins as pip (requirements.txt, uv's own pin included) in a fraction of the
# time: measured here from a fresh clone, 25 s against pip's 81 s. It compiles the bytecode as pip
# does: where PYTHONDONTWRITEBYTECODE is set (it is here), nothing else would, and every process
# would take twice as long (12 s against 5 s) to import TensorFlow.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$$(grep '^uv==' requirements.txt)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

data: venv
	$(RUN) fetch-data

# CI_RUN: a complete ci run that the pipeline tests may reuse (set by `make test`).
unit: data
	IDS_CI_RUN=$(CI_RUN) $(PY) -m pytest tests --ignore=tests/browser --durations=15

# `make test` splits the unit tests: those that need no ci run run beside the ci pipeline, the
# pipeline tests after it, reusing its run. The pipeline is the longer of the two, so these run
# at a lower priority (nice) and slow it less. Not lower still: some tests time real waits.
unit-alone: data
	nice -n 10 $(PY) -m pytest tests --ignore=tests/browser --ignore=tests/test_pipeline.py --durations=10

unit-run: data
	IDS_CI_RUN=$(CI_RUN) $(PY) -m pytest tests/test_pipeline.py --durations=5

# NBVAL_RUN: a ci run whose valid executions nbval compares against instead of executing
# the notebooks again (tests/nbval_reuse.py; set by `make test`).
nbval: data
	$(PY) -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cacheprovider -p tests.nbval_reuse \
		$(if $(NBVAL_RUN),--nbval-reuse-run $(NBVAL_RUN)) notebooks

book-ci: data
	$(RUN) pipeline --profile ci
	$(RUN) build-book --run-dir runs/ci --strict --output runs/ci

check-html: chromium
	$(PY) -m pytest -p no:cacheprovider tests/browser

# Debian's Chromium and ChromeDriver, for the browser check (installed when missing).
chromium:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		{ apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } || \
		  { echo "error: the browser check needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver, as root)" >&2; exit 1; }; }

## mutation: mutation testing (mutmut) of the modules the verdicts rest on, against their
## unit tests; writes tests/MUTATION.md (not part of `make test`: it takes long). One OpenMP
## thread: XGBoost's thread pool does not survive mutmut's fork of a worker per mutant.
mutation: data
	$(PY) -m pip install --quiet -r requirements-mutation.txt
	OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 2 || true
	$(PY) tests/mutation_report.py > tests/MUTATION.md

## lab: JupyterLab on the notebooks, with the project's environment, to re-execute a chapter
## (its earlier stages must have run: `make book` or `make book-ci`)
lab: data
	cd notebooks && ../$(PY) -m jupyterlab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

## notebooks: re-execute the committed notebooks in place with their ci defaults
notebooks: data
	$(RUN) refresh-notebooks

clean:
	rm -rf runs _build
