# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-pg lint migrate demo messages screenshots mutants bench clean

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
	# The daily job, as the deployment's timer runs it after midnight: the agency feed shows
	# nothing of a day whose expiries are not written.
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py records_record_expiries

# The intake worker runs beside the server (batches sent to the department API wait for it)
# and both stop together: when the server ends, on Ctrl-C, and on a TERM or HUP sent to this
# shell alone. The server runs in the background too, since the shell runs a trap only once
# its foreground command has ended, while `wait` gives way to one at once. The server keeps
# the terminal as its input (fd 3): a background job's is /dev/null, and `breakpoint()` in a
# view needs it.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (staff admin: /admin/, user 'admin', password 'admin')"
	exec 3<&0; worker=; server=; \
	trap 'kill $$worker $$server 2>/dev/null; wait' EXIT; \
	trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py intake_worker & worker=$$!; \
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT) <&3 & server=$$!; \
	wait $$server

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite on PostgreSQL, where the concurrency, lock-order and trigger tests run: a throwaway
# database on the server of DATABASE_URL (default: the local server), dropped afterwards.
PG_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres)
test-pg: install
	@db=creditchina_test_$$$$; base=$$(echo "$(PG_URL)" | sed -E 's#/[^/]*$$##'); \
	$(BIN)/python -c "import psycopg,sys; c=psycopg.connect(sys.argv[1]+'/postgres', autocommit=True); c.execute('CREATE DATABASE '+sys.argv[2])" "$$base" "$$db" && \
	DATABASE_URL="$$base/$$db" $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	$(BIN)/python -c "import psycopg,sys; c=psycopg.connect(sys.argv[1]+'/postgres', autocommit=True); c.execute('DROP DATABASE IF EXISTS '+sys.argv[2]+' WITH (FORCE)'); c.execute('DROP DATABASE IF EXISTS test_'+sys.argv[2]+' WITH (FORCE)')" "$$base" "$$db"; \
	exit $$status

lint: install
	$(BIN)/ruff check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'staticfiles/*' --ignore 'clients/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv'

screenshots: install
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -q tests/browser tests/reports/test_pdf_pages.py

# Mutation testing (mutmut; configured in pyproject.toml): long, so not part of `make test` or CI.
mutants: install
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

# Benchmarks: see bench/README.md. DATABASE_URL must point at PostgreSQL.
bench: install
	$(BIN)/python manage.py generate_dataset --entities 1000000 --records 3000000
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/feed.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache mutants
