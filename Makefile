# iopkit — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test bench bench-quick lint demo lab clean install git-filter

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP) git-filter

# Notebook outputs are stripped on commit: nbstripout as a git "clean" filter (this clone's
# .git/config; .gitattributes, committed, says which files). Outside a git checkout: nothing.
git-filter: $(STAMP)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		$(BIN)/nbstripout --install --attributes .gitattributes && \
		echo "git filter: notebook outputs are stripped on commit (nbstripout)"; \
	fi

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

demo: $(STAMP)
	$(BIN)/iopkit demo --out reports/demo
	@echo "open reports/demo/index.html"

# JupyterLab on localhost with a token; --allow-root only when run as root (containers);
# extra options pass through: make lab LAB_ARGS="--port=8899". Kernels talk over IPC (Unix
# sockets in the Jupyter runtime folder), so ipykernel does not warn "Kernel is running over
# TCP without encryption" (ipykernel 7 kernelapp.init_sockets). Notebook exports go to
# reports/lab/ (IOPKIT_LAB_OUTPUT), never into notebooks/.
LAB_ARGS ?=
lab: $(STAMP)
	IOPKIT_LAB_OUTPUT=$(CURDIR)/reports/lab $(BIN)/jupyter lab --notebook-dir=notebooks \
		--ServerApp.ip=127.0.0.1 --KernelManager.transport=ipc \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
