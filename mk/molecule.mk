# Node roles on real Debian systemd containers (Molecule, docker driver).
#
#   make molecule                 build the node image if needed, then run every scenario
#   make molecule MOLECULE_SCENARIOS=ntp    only the named scenario(s)
#   make node-image               start the Docker engine and build hybrid-node:bookworm
#
# The image is built from hack/node-image/ and labelled with a hash of those files: it is built
# when missing and rebuilt when the build files change, and left alone otherwise.

NODE_IMAGE ?= hybrid-node:bookworm
NODE_IMAGE_FILES := $(sort $(wildcard hack/node-image/*))
NODE_IMAGE_HASH = $(shell cat $(NODE_IMAGE_FILES) | sha256sum | cut -c1-16)
# The client packaged with the engine; a newer client elsewhere on PATH works too.
DOCKER ?= $(shell if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else echo docker; fi)
MOLECULE_SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml))))
MOLECULE_ARGS ?=

TEST_STEPS += molecule

.PHONY: molecule node-image docker-engine

docker-engine:
	hack/start-docker.sh

node-image: docker-engine
	@current=$$($(DOCKER) image inspect --format '{{ index .Config.Labels "hybrid.cluster.node-image" }}' \
	    $(NODE_IMAGE) 2>/dev/null || true); \
	if [ "$$current" = "$(NODE_IMAGE_HASH)" ]; then \
	  echo "node-image: $(NODE_IMAGE) is up to date ($(NODE_IMAGE_HASH))"; \
	else \
	  NODE_IMAGE_LABEL=$(NODE_IMAGE_HASH) DOCKER=$(DOCKER) hack/node-image/build.sh $(NODE_IMAGE) \
	    && DOCKER=$(DOCKER) hack/node-image/check.sh $(NODE_IMAGE); \
	fi

# Scenarios run one after the other from the collection root (Molecule's collection mode).
# Galaxy is unreachable: the prerun and dependency steps are off (extensions/molecule/config.yml)
# and every collection comes from $(TEST_COLLECTIONS_PATH) (mk/collections.mk).
molecule: $(VENV)/$(MAIN_CORE)/.done collections node-image
	@failed=(); for s in $(MOLECULE_SCENARIOS); do \
	  echo "molecule: scenario $$s"; \
	  start=$$(date +%s); \
	  if ANSIBLE_COLLECTIONS_PATH=$(TEST_COLLECTIONS_PATH) ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 \
	     MOLECULE_NODE_IMAGE=$(NODE_IMAGE) PATH=$(VENV)/$(MAIN_CORE)/bin:$$PATH \
	     $(VENV)/$(MAIN_CORE)/bin/molecule test -s $$s $(MOLECULE_ARGS); then \
	    echo "molecule: scenario $$s passed in $$(( $$(date +%s) - start ))s"; \
	  else \
	    echo "molecule: scenario $$s FAILED after $$(( $$(date +%s) - start ))s"; failed+=("$$s"); \
	  fi; \
	done; \
	total=$(words $(MOLECULE_SCENARIOS)); \
	echo "molecule: $$(( total - $${#failed[@]} )) passed, $${#failed[@]} failed"; \
	if (( $${#failed[@]} )); then echo "molecule: failed scenarios: $${failed[*]}"; exit 1; fi
