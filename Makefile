.PHONY: demo test lint install clean

# Runs the portal on its embedded defaults: SQLite, a local Celery broker, the bundled AWS
# emulator with sample functions, demo users. Ctrl-C stops everything it started.
demo: install
	.venv/bin/python -m portal.demo

# The whole test suite (installs what it needs; uses throwaway PostgreSQL and Redis servers).
test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

install:
	bash scripts/bootstrap.sh

clean:
	rm -rf var/
