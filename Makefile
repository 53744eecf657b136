# 共济前台 — the two commands of the README:
#   make run    sets up (once) and opens the window on the embedded default (demo database)
#   make test   sets up (once), lints and checks the format (ruff), and runs the whole test suite
# Set-up: Debian packages the app and tests need (installers/debian-packages.sh),
# then a virtual environment in .venv with the project installed from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench setup clean installer

setup: $(STAMP)

# The venv is made anew whenever pyproject.toml changes, so it holds exactly what the pins say
# (an older venv could keep a package the pins dropped, such as PySide6-Pdf 6.12 over Addons' QtPdf).
$(STAMP): pyproject.toml installers/debian-packages.sh
	sh installers/debian-packages.sh
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(BIN)/desktop-app window --demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_diagnosis.py
	$(BIN)/python benchmarks/bench_receipt.py
	$(BIN)/python benchmarks/bench_start.py
	$(BIN)/python benchmarks/bench_day.py
	$(BIN)/python benchmarks/bench_sync.py
	$(BIN)/python benchmarks/bench_hub_load.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# The Linux bundle: PyInstaller one-folder build, then a tarball with the .desktop file and install.sh.
installer: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath build/dist --workpath build/work installers/pyinstaller/gongji.spec
	sh installers/linux/make-bundle.sh build/dist build
