# The AWX execution environment (extensions/awx/ee/): its build context, made without building
# the image (no container engine needed).
#
#   make ee-check    ansible-builder create on the EE definition, then check the context: the
#                    collection tarball and the galaxy step, and what ansible-builder's
#                    introspection finds in the installed collection (requirements.txt, bindep)
#
# ansible-builder lives in a venv of its own ($(EE_VENV)); the test venvs are left alone. The
# context is written to $(EE_CONTEXT); `ansible-builder build` with the same file builds the image.

ANSIBLE_BUILDER_VERSION ?= 3.2.0
EE_VENV := $(BUILD)/venv-builder
EE_DEFINITION := extensions/awx/ee/execution-environment.yml
EE_CONTEXT := $(BUILD)/ee-context

TEST_STEPS += ee-check

.PHONY: ee-check

$(EE_VENV)/.done: mk/awx.mk
	rm -rf $(EE_VENV)
	$(PYTHON) -m venv $(EE_VENV)
	$(EE_VENV)/bin/python -m pip install -q --disable-pip-version-check 'ansible-builder==$(ANSIBLE_BUILDER_VERSION)'
	touch $@

# Checked: (1) the context - a Containerfile that installs the galaxy requirements, runs the
# introspection and installs helm, with the tarball of this version and the requirements file that
# names it; (2) the galaxy stage's install, done here from the context (--no-deps: no Galaxy), then
# ansible-builder's introspection of the result - every line of requirements.txt and
# meta/ee-bindep.txt must come out of the installed collection's meta/execution-environment.yml.
ee-check: $(EE_VENV)/.done $(VENV)/$(MAIN_CORE)/.done $(TARBALL)
	rm -rf $(EE_CONTEXT)
	$(EE_VENV)/bin/ansible-builder create -f $(EE_DEFINITION) -c $(EE_CONTEXT) --output-filename Containerfile
	@cf=$(EE_CONTEXT)/Containerfile; build=$(EE_CONTEXT)/_build; fail=0; \
	check() { if eval "$$2"; then echo "ee-check: ok: $$1"; else echo "ee-check: FAILED: $$1"; fail=1; fi; }; \
	check "Containerfile written" "test -s $$cf"; \
	check "Containerfile installs the galaxy requirements" \
	  "grep -q 'ansible-galaxy collection install .*-r requirements.yml' $$cf"; \
	check "Containerfile runs the introspection and installs its bindep result" \
	  "grep -q 'introspect.py introspect' $$cf && grep -q 'install-from-bindep' $$cf"; \
	check "Containerfile installs helm" "grep -q 'install -m 0755 .*/helm /usr/local/bin/helm' $$cf"; \
	check "context holds hybrid-cluster-$(VERSION).tar.gz" "test -s $$build/collections/hybrid-cluster-$(VERSION).tar.gz"; \
	check "galaxy requirements name collections/hybrid-cluster-$(VERSION).tar.gz" \
	  "grep -qF 'collections/hybrid-cluster-$(VERSION).tar.gz' $$build/requirements.yml"; \
	exit $$fail
	cd $(EE_CONTEXT)/_build && $(VENV)/$(MAIN_CORE)/bin/ansible-galaxy collection install --no-deps \
	  -r requirements.yml -p $(EE_CONTEXT)/installed
	$(EE_VENV)/bin/ansible-builder introspect --user-pip $(EE_CONTEXT)/_build/requirements.txt \
	  --write-pip $(EE_CONTEXT)/introspected-pip.txt --write-bindep $(EE_CONTEXT)/introspected-bindep.txt \
	  $(EE_CONTEXT)/installed >/dev/null
	@fail=0; \
	for pair in requirements.txt:introspected-pip.txt meta/ee-bindep.txt:introspected-bindep.txt; do \
	  src=$${pair%%:*}; out=$(EE_CONTEXT)/$${pair#*:}; \
	  while read -r req; do \
	    if sed 's/ *#.*//' "$$out" | grep -qxF -- "$$req"; then echo "ee-check: ok: $$req ($$src)"; \
	    else echo "ee-check: FAILED: $$req ($$src) is not in the image's requirements"; fail=1; fi; \
	  done < <(sed 's/ *#.*//; /^ *$$/d' "$$src"); \
	done; \
	exit $$fail
