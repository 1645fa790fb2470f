# The emulated demo: the whole job on this machine (docs/quickstart.md).
#
#   make demo        emulated AWS and Azure, node containers, hybrid.cluster.site; report in demo-out/
#   make demo-ci     the demo, a second run that must change nothing, teardown, clean (part of make test)
#   make demo-clean  remove everything the demo made (containers, networks, emulators, demo-out/)

TEST_STEPS += demo-ci

.PHONY: demo demo-ci demo-clean system-packages

# On a fresh Debian machine (as root) the demo installs what it needs first.
system-packages:
	hack/system-packages.sh

demo: system-packages $(VENV)/$(MAIN_CORE)/.done $(TARBALL) collections node-image
	$(VENV)/$(MAIN_CORE)/bin/python hack/demo/demo.py run --venv $(VENV)/$(MAIN_CORE)

demo-ci: system-packages $(VENV)/$(MAIN_CORE)/.done $(TARBALL) collections node-image
	$(VENV)/$(MAIN_CORE)/bin/python hack/demo/demo.py clean
	$(VENV)/$(MAIN_CORE)/bin/python hack/demo/demo.py run --ci --venv $(VENV)/$(MAIN_CORE)

demo-clean:
	@if [ -x $(VENV)/$(MAIN_CORE)/bin/python ]; then py=$(VENV)/$(MAIN_CORE)/bin/python; else py=$(PYTHON); fi; \
	  $$py hack/demo/demo.py clean
