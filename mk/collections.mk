# Collections the tests need besides hybrid.cluster itself (Molecule's docker driver, playbooks).
#
# Galaxy is not reachable from the test machines, so they come from the `ansible` community
# package on PyPI: its wheel carries the collections under ansible_collections/. Only the ones
# named below are extracted into $(TEST_COLLECTIONS_DIR).
#
#   make collections     download the wheel once and extract the needed collections
#
# Tools that need them run with ANSIBLE_COLLECTIONS_PATH=$(TEST_COLLECTIONS_PATH): the extracted
# collections first, then a directory whose ansible_collections/hybrid/cluster is a symlink to
# this working tree, so the collection under test is always the checked-out source.

ANSIBLE_PACKAGE_VERSION ?= 12.3.0
TEST_COLLECTIONS ?= community.docker ansible.posix kubernetes.core ansible.utils community.general community.crypto
TEST_COLLECTIONS_DIR := $(BUILD)/collections
SELF_COLLECTION_DIR := $(BUILD)/self
TEST_COLLECTIONS_PATH := $(TEST_COLLECTIONS_DIR):$(SELF_COLLECTION_DIR)
ANSIBLE_WHEEL_DIR := $(BUILD)/wheels

.PHONY: collections

# Extract ansible_collections/<namespace>/<name>/ of each named collection from the wheel.
define EXTRACT_COLLECTIONS_PY
import sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = {n: "ansible_collections/%s/" % n.replace(".", "/") for n in names}
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(tuple(prefixes.values()))]
    missing = [n for n, p in prefixes.items() if not any(m.startswith(p) for m in members)]
    if missing:
        sys.exit("not in %s: %s" % (wheel, ", ".join(missing)))
    archive.extractall(dest, members)
print("collections: %s extracted" % ", ".join(names))
endef
export EXTRACT_COLLECTIONS_PY

# The stamp records what was extracted; a different version or list extracts again (into a
# fresh directory that then replaces the old one, so a running test never sees half of it).
collections: $(VENV)/$(MAIN_CORE)/.done $(SELF_COLLECTION_DIR)/ansible_collections/hybrid/cluster
	@want='$(ANSIBLE_PACKAGE_VERSION) $(TEST_COLLECTIONS)'; \
	if [ "$$(cat $(TEST_COLLECTIONS_DIR)/.done 2>/dev/null)" = "$$want" ]; then \
	  echo "collections: up to date in $(TEST_COLLECTIONS_DIR)"; exit 0; fi; \
	mkdir -p $(ANSIBLE_WHEEL_DIR); \
	if ! ls $(ANSIBLE_WHEEL_DIR)/ansible-$(ANSIBLE_PACKAGE_VERSION)-*.whl >/dev/null 2>&1; then \
	  $(VENV)/$(MAIN_CORE)/bin/python -m pip download -q --disable-pip-version-check \
	    --no-deps --only-binary=:all: --dest $(ANSIBLE_WHEEL_DIR) 'ansible==$(ANSIBLE_PACKAGE_VERSION)'; \
	fi; \
	rm -rf $(TEST_COLLECTIONS_DIR).new; \
	$(VENV)/$(MAIN_CORE)/bin/python -c "$$EXTRACT_COLLECTIONS_PY" \
	  $(ANSIBLE_WHEEL_DIR)/ansible-$(ANSIBLE_PACKAGE_VERSION)-*.whl $(TEST_COLLECTIONS_DIR).new $(TEST_COLLECTIONS); \
	echo "$$want" > $(TEST_COLLECTIONS_DIR).new/.done; \
	rm -rf $(TEST_COLLECTIONS_DIR).old; \
	if [ -d $(TEST_COLLECTIONS_DIR) ]; then mv $(TEST_COLLECTIONS_DIR) $(TEST_COLLECTIONS_DIR).old; fi; \
	mv $(TEST_COLLECTIONS_DIR).new $(TEST_COLLECTIONS_DIR); \
	rm -rf $(TEST_COLLECTIONS_DIR).old

$(SELF_COLLECTION_DIR)/ansible_collections/hybrid/cluster:
	mkdir -p $(@D)
	ln -sfn $(ROOT) $@

# ansible-lint runs offline: the modules of these collections (kubernetes.core, ...) and this
# collection's own roles resolve through the same path.
lint: collections
lint: export ANSIBLE_COLLECTIONS_PATH := $(TEST_COLLECTIONS_PATH)
