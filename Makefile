# Two commands on a fresh machine:
#   make book   creates .venv, installs pinned dependencies, executes every chapter (papermill,
#               preset book) into _build/ and builds the static site _build/html/index.html
#   make test   same environment (with the dev extras), runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= book
BOOK_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install book test clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,distributed,dev]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/layerwise book --preset $(PRESET) $(BOOK_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf _build
