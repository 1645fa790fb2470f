# Benchmarks (bench/). Not part of `make test`; each run is bounded in size and time.
#
#   make bench-inventory   hybrid.cluster.clouds vs the raw SDK listing and amazon.aws.aws_ec2
#                          (BENCH_ARGS="--hosts 2500 --runs 3"; default --hosts 200)
#
# amazon.aws is not among TEST_COLLECTIONS, so it is extracted from the same `ansible` wheel into a
# bench-only directory.

BENCH_ARGS ?=
BENCH_COLLECTIONS_DIR := $(BUILD)/bench-collections

.PHONY: bench-inventory

$(BENCH_COLLECTIONS_DIR)/.done: mk/bench.mk | collections
	rm -rf $(BENCH_COLLECTIONS_DIR)
	$(VENV)/$(MAIN_CORE)/bin/python -c "$$EXTRACT_COLLECTIONS_PY" \
	  $(ANSIBLE_WHEEL_DIR)/ansible-$(ANSIBLE_PACKAGE_VERSION)-*.whl $(BENCH_COLLECTIONS_DIR) amazon.aws
	touch $@

bench-inventory: $(BENCH_COLLECTIONS_DIR)/.done | collections
	$(VENV)/$(MAIN_CORE)/bin/python bench/inventory.py --collections $(BENCH_COLLECTIONS_DIR) $(BENCH_ARGS)
