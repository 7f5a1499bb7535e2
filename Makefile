# make run: set up, upgrade the database, seed the demo, serve the portal and its task consumer.
# make test: lint, then every test suite (PostgreSQL/Redis too when TEST_DATABASE_URL/TEST_REDIS_URL are set).
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
PYTHON ?= python3

.PHONY: run test lint setup clean

run: setup
	$(FLASK) procedure check $${PORTAL_PROCEDURE:-hounslow}
	$(FLASK) db upgrade
	$(FLASK) demo seed
	BASE_URL=$${BASE_URL:-http://localhost:$${PORT:-5000}} $(FLASK) serve --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

# Two workers, each taking a whole test file at a time (a browser module shares one live server).
test: setup lint
	$(BIN)/pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

setup: $(VENV)/.installed static/css/portal.css

# GOV.UK Frontend (npm, pinned in package-lock.json) compiled with our font stack into static/.
static/css/portal.css: package.json package-lock.json static/scss/portal.scss
	npm ci --no-audit --no-fund --loglevel=error
	npm run build --silent

$(VENV)/.installed: requirements.txt requirements-dev.txt .ci/system-packages
	bash .ci/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) instance node_modules static/css static/govuk
