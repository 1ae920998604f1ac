# Vigil build. `make up` and `make test` are the two commands a user needs; both bootstrap first.
BUILD      := build
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf -Wall -Wno-unused-function
# Two objects: the capture object (always loaded) and the enforcement object (enforce_*.bpf.c,
# loaded after it, sharing its maps by name; if the kernel refuses it, capture still runs).
# maps.bpf.c (the map definitions) must come first: bpftool 7.1 cannot resolve extern maps otherwise.
ENF_SRCS   := $(wildcard bpf/enforce_*.bpf.c)
BPF_SRCS   := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c $(ENF_SRCS),$(wildcard bpf/*.bpf.c))
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.o,$(BPF_SRCS))
ENF_OBJS   := $(BUILD)/bpf/maps.o $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.o,$(ENF_SRCS))
NATIVE_SRCS := $(wildcard native/*.c)
NATIVE_HDRS := $(wildcard native/*.h) bpf/vigil_abi.h bpf/vigil_kinds.h

.PHONY: all build bootstrap up test test-unit test-kernel test-e2e test-layout bench clean typecheck gen lint format

all: build

bootstrap:
	@bash scripts/bootstrap.sh

# build: the generated ABI files, the loader (C, BPF objects) and the CLI compiled to JavaScript in
# dist/ (bin/vigil runs it).
build: gen $(BUILD)/vigil-loader dist/.stamp

# Files generated from the one table of event kinds (src/abi/kinds-table.ts): the C enum, slot names
# and syscall numbers (bpf/vigil_kinds.h) and their TypeScript mirror (src/abi/kinds.gen.ts). Both
# are committed; the generator rewrites only what changed, and a unit test fails when they are stale.
GEN_SRCS := src/abi/kinds-table.ts src/abi/generate.ts scripts/gen-abi.ts
gen: bpf/vigil_kinds.h
bpf/vigil_kinds.h src/abi/kinds.gen.ts &: $(GEN_SRCS)
	node --import tsx scripts/gen-abi.ts
	@touch bpf/vigil_kinds.h src/abi/kinds.gen.ts

# scripts/build-ts.sh: tsc -p tsconfig.build.json, swapped into dist/ whole; the directories are
# prerequisites too, so a deleted source also rebuilds.
dist/.stamp: $(shell find src -name '*.ts' -o -type d) tsconfig.build.json tsconfig.json
	bash scripts/build-ts.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.o: bpf/%.bpf.c $(wildcard bpf/*.h) bpf/vigil_kinds.h $(BUILD)/vmlinux.h
	@mkdir -p $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/vigil.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $(BPF_OBJS)

$(BUILD)/vigil.skel.h: $(BUILD)/vigil.bpf.o
	$(BPFTOOL) gen skeleton $< name vigil > $@.tmp && mv $@.tmp $@

$(BUILD)/vigil-enforce.bpf.o: $(ENF_OBJS)
	$(BPFTOOL) gen object $@ $(ENF_OBJS)

$(BUILD)/vigil_enforce.skel.h: $(BUILD)/vigil-enforce.bpf.o
	$(BPFTOOL) gen skeleton $< name vigil_enforce > $@.tmp && mv $@.tmp $@

$(BUILD)/vigil-loader: $(NATIVE_SRCS) $(NATIVE_HDRS) $(BUILD)/vigil.skel.h $(BUILD)/vigil_enforce.skel.h
	$(CC) -O2 -g -Wall -Wextra -Wno-unused-parameter -I$(BUILD) -Ibpf -Inative -o $@ $(NATIVE_SRCS) -lbpf -lelf -lz -lpthread

typecheck:
	node_modules/.bin/tsc -p tsconfig.json

# Guard rails (both part of `make test`): dependency-cruiser checks the layering of src/ with
# .dependency-cruiser.cjs (fails on an import cycle or an import up the layers;
# tests/unit/layers/depcruise.test.ts proves it does), and `biome ci` lints and checks the format of
# src/, tests/, bench/ and scripts/ with biome.json (any error, warning or info fails: `biome ci`
# exits non-zero on errors and, with --error-on-warnings, on warnings; the grep catches infos).
# Biome's assist actions (import sorting) are off in biome.json: several modules register kinds
# and decoders when they load, so import order is kept as written. `make format` fixes the format.
lint:
	node_modules/.bin/depcruise src --config .dependency-cruiser.cjs
	@out=$$(node_modules/.bin/biome ci --colors=off --error-on-warnings . 2>&1); rc=$$?; \
	printf '%s\n' "$$out"; \
	if printf '%s\n' "$$out" | grep -q '^Found [0-9]* info'; then echo 'biome: infos count as findings too' >&2; exit 1; fi; \
	exit $$rc

# Rewrites the tree in the Biome format of biome.json.
format:
	node_modules/.bin/biome format --write .

# The all-in-one: backend (embedded store) + a local sensor enrolled to it, with the community
# Falco rules when they are next to the checkout. VIGIL_UP_ARGS adds options (e.g. --print-events).
UP_RULES := $(wildcard ../shared/falco/falco_rules.yaml)
up: bootstrap build
	./bin/vigil up $(if $(UP_RULES),--rules $(UP_RULES)) $(VIGIL_UP_ARGS)

# Tests by what they need: tests/unit (no root, no kernel), tests/kernel (root + BPF), tests/e2e
# (real kernel, runc and the CLI). `make test` runs all three, in that order, one file at a time,
# and fails if any failed; kernel tests fail (not skip) when VIGIL_REQUIRE_BPF=1.
# `make test-unit` needs neither root nor a build: it runs as any user.
UNIT_TESTS   = $(shell find tests/unit -name '*.test.ts' | sort)
KERNEL_TESTS = $(shell find tests/kernel -name '*.test.ts' | sort)
E2E_TESTS    = $(shell find tests/e2e -name '*.test.ts' | sort)
TEST_RUN     = node --import tsx --test --test-concurrency=1
# a test file in none of the three directories would silently never run
STRAY_TESTS  = $(shell find tests -name '*.test.ts' -not -path 'tests/unit/*' -not -path 'tests/kernel/*' -not -path 'tests/e2e/*')
test-layout:
	@test -z "$(STRAY_TESTS)" || { echo "test files outside tests/unit, tests/kernel, tests/e2e: $(STRAY_TESTS)" >&2; exit 1; }

test: bootstrap build typecheck test-layout lint
	@rc=0; \
	$(TEST_RUN) $(UNIT_TESTS) || rc=1; \
	$(TEST_RUN) $(KERNEL_TESTS) || rc=1; \
	$(TEST_RUN) $(E2E_TESTS) || rc=1; \
	exit $$rc

test-unit: test-layout
	node --import tsx --test $(UNIT_TESTS)

test-kernel: build
	$(TEST_RUN) $(KERNEL_TESTS)

test-e2e: build
	$(TEST_RUN) $(E2E_TESTS)

bench: bootstrap build
	bash bench/run-all.sh

clean:
	rm -rf $(BUILD) dist
