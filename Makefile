# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint migrate demo messages screenshots bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input

demo: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --if-empty
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py reports_demo_key

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (staff admin: /admin/, user 'admin', password 'admin')"
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'staticfiles/*' --ignore 'clients/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv'

screenshots: install
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -q tests/browser tests/reports/test_pdf_pages.py

# Benchmarks: see bench/README.md. DATABASE_URL must point at PostgreSQL.
bench: install
	$(BIN)/python manage.py generate_dataset --entities 1000000 --records 3000000
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/feed.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
