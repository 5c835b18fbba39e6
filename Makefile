# Two entry points on a fresh machine:  make run  (set up, start the app on a built-in sample)
#                                       make test (set up, run the whole suite, browser test included)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run class test setup chromium nginx bench contract clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .   # the scgru-lab command
	touch $@

# Optional extras for exporting to ONNX and running it with ONNX Runtime: the tests install them, the app never needs them.
$(VENV)/.export-extras: $(VENV)/.installed requirements-export.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-export.txt
	touch $@

# Optional extra for running sweeps on Ray (--executor ray): the tests install it, the app never needs it.
$(VENV)/.ray-extras: $(VENV)/.installed requirements-ray.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-ray.txt
	touch $@

# Optional extra for the study's PNG figures (plotly's image export through a headless Chromium).
$(VENV)/.study-extras: $(VENV)/.installed requirements-study.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-study.txt
	touch $@

setup: $(VENV)/.installed

chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  ( echo "installing Debian's chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) )

# nginx, for the test of serving a class from several processes (`make class PROCESSES=N`); one process needs none.
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
	  ( echo "installing Debian's nginx-light for the several-processes test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) || \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) )

run: setup
	$(PY) -m streamlit run app.py --server.port $(PORT)

# For a class on the local network: every interface, and the address students open printed first.
# PROCESSES=N: N server processes behind nginx (README, "Serving a class").
PROCESSES ?= 1
class: setup
	$(PY) scripts/serve_class.py --port $(PORT) --processes $(PROCESSES)

test: setup $(VENV)/.export-extras $(VENV)/.ray-extras $(VENV)/.study-extras chromium nginx
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench.py

contract: setup
	$(PY) ../shared/tools/check_cli_contract.py all

clean:
	rm -rf $(VENV) .pytest_cache artifacts
