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
TEST_COLLECTIONS ?= community.docker ansible.posix kubernetes.core ansible.utils community.general
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
print("collections: %s extracted into %s" % (", ".join(names), dest))
endef
export EXTRACT_COLLECTIONS_PY

collections: $(TEST_COLLECTIONS_DIR)/.done $(SELF_COLLECTION_DIR)/ansible_collections/hybrid/cluster

# The stamp records what was extracted; changing the version or the list re-extracts.
$(TEST_COLLECTIONS_DIR)/.done: mk/collections.mk $(VENV)/$(MAIN_CORE)/.done
	mkdir -p $(ANSIBLE_WHEEL_DIR)
	if ! ls $(ANSIBLE_WHEEL_DIR)/ansible-$(ANSIBLE_PACKAGE_VERSION)-*.whl >/dev/null 2>&1; then \
	  $(VENV)/$(MAIN_CORE)/bin/python -m pip download -q --disable-pip-version-check \
	    --no-deps --only-binary=:all: --dest $(ANSIBLE_WHEEL_DIR) 'ansible==$(ANSIBLE_PACKAGE_VERSION)'; \
	fi
	rm -rf $(TEST_COLLECTIONS_DIR)
	$(VENV)/$(MAIN_CORE)/bin/python -c "$$EXTRACT_COLLECTIONS_PY" \
	  $(ANSIBLE_WHEEL_DIR)/ansible-$(ANSIBLE_PACKAGE_VERSION)-*.whl $(TEST_COLLECTIONS_DIR) $(TEST_COLLECTIONS)
	echo '$(ANSIBLE_PACKAGE_VERSION) $(TEST_COLLECTIONS)' > $@

$(SELF_COLLECTION_DIR)/ansible_collections/hybrid/cluster:
	mkdir -p $(@D)
	ln -sfn $(ROOT) $@
