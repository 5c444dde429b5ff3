# chorus.corail developer entry points. `make demo` and `make test` work on a fresh machine:
# they create the virtualenv, install the pinned tools and stage the collection themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.tmp/link
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all venv system stage demo test sanity units sanity-2.17 units-2.17 sanity-2.18 units-2.18 functional integration molecule lint docs build clean

all: test

$(BIN)/.installed: requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed
	@$(BIN)/python tools/ansible_test_offline.py
	@tools/get_ansible_windows.sh >/dev/null
	@tools/stage_collection.sh

# Debian packages the tests use: an SSH server for the multi-host scenario, Chromium to render
# the HTML report, rsync for ansible-test. Installed only when missing (needs root, as in CI).
system:
	@tools/system_deps.sh

demo: venv
	@tools/demo.sh

test: venv system
	@tools/run_tests.sh all

sanity units functional integration molecule lint: venv
	@tools/run_tests.sh $@

# The older cores of the matrix, each from its own small venv (tools/core_venv.sh).
sanity-2.17 units-2.17 sanity-2.18 units-2.18: venv
	@tools/run_tests.sh $@

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .tmp/dist .

clean:
	rm -rf .tmp tests/output $(VENV)
