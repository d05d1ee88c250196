# Federated Learning Across Borders: set-up, lab, tests, benchmark.
# `make lab` and `make test` each build .venv from requirements.lock first.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_PORT ?= 8888

# TensorFlow's C++ logging must be quiet before TF is first imported.
export TF_CPP_MIN_LOG_LEVEL := 3
# Processes started by this make run carry this tag, so `check-workers` finds exactly ours.
ifndef FLCOURSE_RUN_TAG
export FLCOURSE_RUN_TAG := make-$(shell date +%s%N)
endif

define NO_PYTHON
Python 3.11 was not found (looked for '$(PYTHON)').
TensorFlow Federated 0.87 runs on Python 3.9-3.11 and ships Linux wheels only.
  Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv   (or use pyenv)
  then run make again, or point make at it: make PYTHON=/path/to/python3.11 ...
macOS and Windows: use the Binder badge in README.md, or a Linux container/VM.
endef
export NO_PYTHON

.PHONY: help install doctor lab test test-unit test-notebooks test-browser stress-notebooks book test-book test-binder bench bench-tff mutation lock nav clean

help:
	@echo "make doctor        pre-flight for a classroom machine: Python, memory, disk, install, TFF, data, port"
	@echo "make lab           install (first time) and open JupyterLab on chapters/00_start_here.ipynb"
	@echo "make test          install (first time), unit tests + every notebook under nbval"
	@echo "make test-browser  run chapters 00, 01 and 03 in JupyterLab in headless Chromium"
	@echo "make stress-notebooks  run every widget chapter 3 times, 2 at a time; fail on a stalled cell"
	@echo "make book          the course as a static website (build/book/html/index.html), offline"
	@echo "make test-book     open the built website in headless Chromium and check every page"
	@echo "make test-binder   replay Binder's install into a fresh venv (slow)"
	@echo "make bench         time and memory of every notebook; the case-study table of chapter 05"
	@echo "make bench-tff     TFF rounds at FLamby's settings from fresh processes: build, first/steady round, training, CPU"
	@echo "make mutation      mutation-test the federated core, data and validation (slow; per-module kill rate)"
	@echo "make lock          re-resolve requirements.in into requirements.lock and environment.yml"
	@echo "make nav           regenerate navigation links and README's course map"

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$$NO_PYTHON" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "'$(PYTHON)' is not Python 3.11." >&2; echo "$$NO_PYTHON" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The lock is complete, so no resolution: this is how TFF 0.87 installs at all.
	$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps -e .
	@# `jupyter nbconvert --execute` and `jupyter execute` in this venv use a kernel client that does not
	@# miss the reply to a cell that fills an Output widget (utils/kernel_client.py).
	mkdir -p $(VENV)/etc/jupyter
	for f in jupyter_nbconvert_config.json jupyter_execute_config.json; do \
		echo '{"AsyncKernelManager": {"client_class": "utils.kernel_client.SafeAsyncKernelClient"}}' \
			> $(VENV)/etc/jupyter/$$f; done
	touch $@

lab: $(STAMP)
	@# A random token passed through the environment (not the command line, which `ps` shows),
	@# so a user config cannot make it empty. Jupyter masks a token it did not generate, so we print the URL.
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "JupyterLab: open http://127.0.0.1:$(LAB_PORT)/lab/tree/chapters/00_start_here.ipynb?token=$$token"; \
	JUPYTER_TOKEN=$$token exec $(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 \
		--ServerApp.port=$(LAB_PORT) --ServerApp.port_retries=0 \
		$(if $(filter 0,$(shell id -u)),--allow-root) chapters/00_start_here.ipynb

# Unit tests and every notebook in one pytest run; then no TFF worker may be left behind.
# nbval drives the kernel with the blocking client, which the widget-cell stall (utils/kernel_client.py)
# cannot reach; a cell still stuck for another reason fails after 10 min.
# Exercise checks run by the tests record into build/, not into a learner's .progress.json.
test test-unit test-notebooks: export FLCOURSE_PROGRESS := $(CURDIR)/build/test-progress.json
test: $(STAMP)
	@status=0; \
	$(BIN)/python -m pytest -rs -m "not slow" --nbval-lax --nbval-current-env --nbval-cell-timeout=600 tests chapters || status=$$?; \
	$(BIN)/python -m tools.workers || status=1; \
	exit $$status

test-unit: $(STAMP)
	$(BIN)/python -m pytest -rs -m "not slow" tests

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 chapters

# 00 (figure + widgets), 01 (a drop-down that re-draws the ecosystem graph) and 03 (a slider that re-draws a
# loss-surface contour).
BROWSER_NOTEBOOKS ?= chapters/00_start_here.ipynb chapters/01_ai_infrastructure_and_cooperation.ipynb \
	chapters/03_federated_math.ipynb
test-browser: $(STAMP)
	$(BIN)/python -m tools.browser_check $(BROWSER_NOTEBOOKS)

# Every chapter that shows a widget (it imports ipywidgets), 3 runs each, two at a time, with the
# course's kernel client: fails on any stall (a cell idle for 60 s). CI runs it.
WIDGET_NOTEBOOKS = $(shell grep -l -E '(import|from) ipywidgets' chapters/*.ipynb)
stress-notebooks: $(STAMP)
	$(BIN)/python -m tools.stress_notebooks $(WIDGET_NOTEBOOKS) --runs 3 --parallel 2 --client safe \
		--report build/stress --store-executed

# Classroom pre-flight: one line per check with a fix for each problem. Needs nothing installed.
doctor:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m tools.doctor --port $(LAB_PORT); \
	else $(PYTHON) -m tools.doctor --port $(LAB_PORT); fi

# The course as a static website in build/book/html (tools/book.py): chapters executed once and cached
# in build/executed (stress-notebooks leaves its clean runs there), rendered by Sphinx + MyST-NB.
book: $(STAMP)
	@status=0; $(BIN)/python -m tools.book || status=$$?; $(BIN)/python -m tools.workers || status=1; exit $$status

# The built site in headless Chromium, offline: every page, figure, formula, widget, link and a search.
test-book: $(STAMP)
	$(BIN)/python -m tools.book_check

test-binder: $(STAMP)
	$(BIN)/python -m pytest -m slow tests/test_binder.py

# Figures, never timed tests: each notebook's wall time and peak memory, then chapter 05's table.
# Times every chapter (data/bench.json, committed: the instructor guide's run times come from it),
# then regenerates INSTRUCTOR.md from those figures.
bench: $(STAMP)
	$(BIN)/python -m tools.bench --json data/bench.json
	$(BIN)/python -m tools.guide
	$(BIN)/python -m tools.case_study_table

# Where a TFF round's time goes: FLamby's protocol (FedAdam, FedAvg; 15 rounds x 100 steps x batch 4,
# seed 42), median of 5 fresh processes per method, the NumPy core beside it. BENCH_TFF_ARGS passes
# options, e.g. BENCH_TFF_ARGS='--runs 3 --against "cmd printing FLamby seconds as JSON"'.
bench-tff: $(STAMP)
	$(BIN)/python -m tools.bench_tff $(BENCH_TFF_ARGS)
	$(BIN)/python -m tools.workers

# Mutation testing (slow, not CI): mutmut in its own venv that borrows every other package from $(VENV).
MUTATION_VENV := build/mutation-venv
$(MUTATION_VENV)/.installed: tools/mutation-requirements.txt $(STAMP)
	rm -rf $(MUTATION_VENV) && $(PYTHON) -m venv $(MUTATION_VENV)
	$(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
		> $$($(MUTATION_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/flcourse-lock.pth
	$(MUTATION_VENV)/bin/python -m pip install --quiet --no-deps -r tools/mutation-requirements.txt
	touch $@

mutation: $(MUTATION_VENV)/.installed
	$(BIN)/python -m tools.mutation --venv $(MUTATION_VENV)

lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet -r requirements.in
	build/lock-venv/bin/python -m pip install --quiet --no-deps tensorflow-federated==0.87.0
	build/lock-venv/bin/python -m pip freeze --all --exclude-editable > build/freeze.txt
	build/lock-venv/bin/python -m tools.lockfile freeze build/freeze.txt
	build/lock-venv/bin/python -m tools.lockfile env

nav: $(STAMP)
	$(BIN)/python -m tools.nav

clean:
	rm -rf $(VENV) build data/cache
