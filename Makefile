# Convenience targets; CI runs .ci/run.
PY ?= .venv/bin/python

.PHONY: test recordings golden bench

test:
	$(PY) -m pytest -q

recordings:  ## regenerate tests/data/api/*.yaml from the simulator (no hand editing)
	$(PY) -m tests.recordings

golden:  ## rewrite the golden plan files; review them as a diff
	UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_plan.py

bench:
	$(PY) bench/validate.py && $(PY) bench/simulator.py && $(PY) bench/plan.py && $(PY) bench/apply.py
