# Two commands on a fresh machine:
#   make book   creates .venv, installs pinned dependencies, executes every chapter (papermill,
#               preset book) into _build/ and builds the static site _build/html/index.html
#   make test   same environment (with the dev extras), runs the test suite; installs Debian's
#               chromium first when it is missing and we are root (the browser test needs it;
#               without it that test is skipped and says why)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= book
BOOK_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install book test chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,distributed,dev]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/layerwise book --preset $(PRESET) $(BOOK_ARGS)

test: $(STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Playwright's own browser download does not work offline; the tests drive Debian's chromium.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif [ ! -x /usr/bin/chromium ]; then \
		echo "chromium missing and not root: the browser test will be skipped (apt-get install chromium)"; \
	fi

clean:
	rm -rf _build
