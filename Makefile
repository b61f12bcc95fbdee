# The two commands a new user needs: `make demo` (the main job) and `make test`.
# Both create the virtual environment on first use; `make test` also installs the local
# stand-ins for production (`make stack-install`), since the suite runs against them.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

# The stand-ins' emulators: a Python 3.13 virtual environment of their own, pinned.
STACK_VENV  := .venv-stack
STACK_REQS  := nbafs/stack/requirements.txt nbafs/stack/requirements-no-deps.txt
STACK_STAMP := $(STACK_VENV)/.installed-stamp

.PHONY: demo prod-demo test install stack-install redis-server bench bench-serve clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

$(STACK_STAMP): $(STACK_REQS)
	@py=""; for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	  if "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then py="$$p"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "make stack-install: the emulators need Python 3.13: none works as python3.13 on PATH nor in ~/.pyenv/versions/3.13*/ (install one, e.g. pyenv install 3.13)" >&2; exit 1; \
	fi; \
	test -x $(STACK_VENV)/bin/python || "$$py" -m venv $(STACK_VENV)
	$(STACK_VENV)/bin/python -m pip install --quiet -r nbafs/stack/requirements.txt
	$(STACK_VENV)/bin/python -m pip install --quiet --no-deps -r nbafs/stack/requirements-no-deps.txt
	@touch $(STACK_STAMP)

# Debian's redis-server: installed with apt-get when missing and we are root.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing redis-server (apt-get)" >&2; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server </dev/null; \
	  else \
	    echo "make stack-install: redis-server is missing: install it as root (apt-get install redis-server)" >&2; exit 1; \
	  fi; }

stack-install: $(STACK_STAMP) redis-server

demo: $(STAMP)
	$(VENV)/bin/nbafs demo

# The demo on the production profile against the local stand-ins, in its own data dir;
# the stack is stopped whatever the demo's outcome, and the demo's status is make's.
prod-demo: export NBAFS_DATA_DIR ?= data/prod-demo
prod-demo: $(STAMP) stack-install
	@exports="$$($(VENV)/bin/nbafs stack up)" || exit 1; \
	trap 'eval "$$($(VENV)/bin/nbafs stack down)"' EXIT; \
	eval "$$exports"; \
	NBAFS_PROFILE=prod $(VENV)/bin/nbafs demo

test: $(STAMP) stack-install
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) -m bench.run_all

# feast serve under load on our stores and stock Feast's, both profiles (starts its own stand-ins).
bench-serve: $(STAMP) stack-install
	$(PY) -m bench.bench_serve

clean:
	rm -rf data/ .pytest_cache
