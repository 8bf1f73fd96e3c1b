# The one entry point: make run, make test, make check, make bench.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TRANSLATIONS := consult/translations
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

CITY := $(CURDIR)/instance-city

.PHONY: run run-city test check lint typecheck bench translations extract clean

# The editable install also builds the tally's compiled parts (setup.py) in place.
$(BIN)/consult: pyproject.toml setup.py $(wildcard consult/tally/*.pyx)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

%.mo: %.po | $(BIN)/consult
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(BIN)/consult $(MO)

run: translations
	HOST=$(HOST) PORT=$(PORT) $(BIN)/consult setup --demo
	HOST=$(HOST) PORT=$(PORT) $(BIN)/consult serve --bind $(HOST):$(PORT) --workers 1 --threads 4

# The synthetic city of a yearly programme (466 compounds) in instance-city/, with demo logins.
run-city: translations
	CONSULT_INSTANCE_PATH=$(CITY) $(BIN)/consult db upgrade
	-CONSULT_INSTANCE_PATH=$(CITY) $(BIN)/consult seed-city
	-CONSULT_INSTANCE_PATH=$(CITY) $(BIN)/consult create-user admin --role admin --password admin-demo-2026 --name 系统管理员 2>/dev/null
	-CONSULT_INSTANCE_PATH=$(CITY) $(BIN)/consult create-user zhou --role planner --password zhou-demo-2026 --name 周工 2>/dev/null
	@echo "Planners' pages: http://$(HOST):$(PORT)/p/  (zhou / zhou-demo-2026, admin / admin-demo-2026)"
	CONSULT_INSTANCE_PATH=$(CITY) $(BIN)/consult serve --bind $(HOST):$(PORT) --workers 1 --threads 4

# The suite in TEST_WORKERS processes (a file's tests stay in one), then the load
# tests alone, so that their servers have the machine to themselves.
TEST_WORKERS ?= 2
test: translations
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not load"
	$(BIN)/pytest -q -m load

lint: $(BIN)/consult
	$(BIN)/ruff check consult tests bench
	$(BIN)/ruff format --check consult tests bench

typecheck: $(BIN)/consult
	$(BIN)/mypy consult

check: lint typecheck test

bench: translations
	$(BIN)/python bench/tally_bench.py
	$(BIN)/python bench/codes_bench.py
	$(BIN)/python bench/serve_bench.py && $(BIN)/python bench/city_bench.py
	$(BIN)/python bench/export_bench.py
	$(BIN)/python bench/pages_bench.py

# Refresh the .pot and merge new strings into the catalogues (for developers).
extract: $(BIN)/consult
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(TRANSLATIONS)/messages.pot --no-location --sort-output --ignore-dirs='.* instance __pycache__' .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
	rm -f consult/tally/*.c consult/tally/*.so
	find $(TRANSLATIONS) -name '*.mo' -delete
