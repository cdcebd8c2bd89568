# Shortcuts for the two README commands and the chores around them.
.PHONY: lab test setup diagrams bench clean
lab:
	./scripts/lab
test:
	./scripts/test
setup:
	./scripts/setup
diagrams: setup
	.venv/bin/labkit diagrams
bench: setup
	for b in benchmarks/*.py; do .venv/bin/python $$b; done
clean:
	rm -rf .venv build *.egg-info
