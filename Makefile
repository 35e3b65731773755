# sre.toolkit developer entry points. Every target installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
CACHE ?= $(HOME)/.cache/sre-toolkit
REQ_HASH := $(shell cat test-requirements.txt | sha256sum | cut -c1-12)
VENV := $(CACHE)/venv-$(REQ_HASH)
export PATH := $(VENV)/bin:$(PATH)

.PHONY: venv lab-up lab-up-scale lab-down lab-status demo test unit sanity integration molecule lint build ee docs bench clean

venv: $(VENV)/.done
$(VENV)/.done: test-requirements.txt
	@mkdir -p $(CACHE)
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -r test-requirements.txt
	@ln -sfn $(VENV) $(CACHE)/venv
	@touch $@

lab-up: venv
	python tests/lab/lab.py up

lab-up-scale: venv
	python tests/lab/lab.py up --scale

lab-down: venv
	python tests/lab/lab.py down

lab-status: venv
	python tests/lab/lab.py status

## The main job against the local lab: prints where the report is.
demo: venv
	bash scripts/demo.sh

## Every test tier; what .ci/run calls.
test: venv
	bash scripts/test-all.sh

unit: venv
	bash scripts/test-all.sh unit

sanity: venv
	bash scripts/test-all.sh sanity

integration: venv
	bash scripts/test-all.sh integration

molecule: venv
	bash scripts/test-all.sh molecule

lint: venv
	bash scripts/test-all.sh lint

build: venv
	bash scripts/test-all.sh build

## The execution environment image (podman, ansible-builder) and the diagnose playbook run inside it.
ee: venv
	bash scripts/test-all.sh ee

bench: venv
	bash bench/run.sh

clean:
	rm -rf collections .ansible tests/output build .pytest_cache
