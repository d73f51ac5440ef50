# hasvc — one GNU Makefile (STYLE: build variants are make variables).
#
#   make                 build bin/hasvcd, bin/hasvc, bin/hasvc-simhv, bin/hasvc-db
#   make deps            install every Debian package the build, tests and demo need
#   make test            deps + depcheck + sanitizer build tests + release build tests
#                        + the real-Xen tests (make test-xen: Xen + dom0 under QEMU)
#   make check           build and run the tests of the current variant only
#   make demo            a live single-host pool (hasvcd + hasvc-simhv)
#   make bench           benchmarks that print figures
#   make fuzz            run every libFuzzer target for FUZZ_SECONDS each (clang)
#   make depcheck        enforce the one-way layering of DESIGN §3
#   make sim-soak        100,000 random simulator schedules (release build)
#
# Variables: ASAN=1 UBSAN=1 FAULTS=1 COVERAGE=1 XEN=1|0 WERROR=1 (on when CI=true).
# A variant builds into build/<variant>/; the release variant's programs go to bin/.

SHELL := /bin/bash
CC ?= cc

ifeq ($(CI),true)
WERROR ?= 1
endif

XEN ?= $(shell pkg-config --exists xenlight xencontrol xenstore xentoollog 2>/dev/null && echo 1 || echo 0)

empty :=
space := $(empty) $(empty)
VARIANT_PARTS := $(if $(filter 1,$(ASAN)),asan) $(if $(filter 1,$(UBSAN)),ubsan) \
	$(if $(filter 1,$(FAULTS)),faults) $(if $(filter 1,$(COVERAGE)),cov)
VARIANT := $(or $(subst $(space),-,$(strip $(VARIANT_PARTS))),release)
B := build/$(VARIANT)
BINDIR := $(if $(filter release,$(VARIANT)),bin,$(B)/bin)

PKGS := libqb libxml-2.0 sqlite3 uuid json-c libevent libevent_openssl openssl libcurl \
	libcpg libquorum libvotequorum libcfg libcorosync_common
ifeq ($(XEN),1)
PKGS += xenlight xencontrol xenstore xentoollog
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wno-unused-parameter -Wno-format-truncation -Wpointer-arith -Wcast-qual -Wvla
CPPFLAGS := -I. -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fno-strict-aliasing -pthread -MMD -MP
LDLIBS := $(shell pkg-config --libs $(PKGS)) $(shell pkg-config --libs netsnmp) -lpthread -lm
TEST_LDLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifeq ($(ASAN),1)
CFLAGS += -fsanitize=address -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address
endif
ifeq ($(UBSAN),1)
CFLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=undefined
endif
ifeq ($(FAULTS),1)
CPPFLAGS += -DHASVC_FAULTS
endif
# Sanitizer and fault builds are test builds: ALWAYS()/NEVER() surprises abort.
ifneq ($(ASAN)$(UBSAN)$(FAULTS),)
CPPFLAGS += -DHASVC_TESTING
endif
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
ifeq ($(COVERAGE),1)
CFLAGS += --coverage -O0
LDFLAGS += --coverage
endif
ifeq ($(XEN),1)

XEN_EXCLUDE := hasvc/hv_xen_none.c
else
XEN_EXCLUDE := hasvc/hv_xen.c
endif

# Floors, top first: the link order of their archives.
LAYERS := hasvc heartbeat fencing placement api lab lib
layer_srcs = $(filter-out %_main.c $(XEN_EXCLUDE),$(wildcard $(1)/*.c))
ARCHIVES := $(foreach l,$(LAYERS),$(if $(call layer_srcs,$(l)),$(B)/lib$(l).a))

# Programs: name:main-source.  Only those whose main exists are built.
PROG_MAP := hasvcd:hasvc/hasvcd_main.c hasvc:api/cli_main.c hasvc-simhv:lab/simhv_main.c \
	hasvc-db:hasvc/dbtool_main.c hasvc-plan:hasvc/plan_main.c hasvc-statefile:hasvc/statefile_main.c \
	hasvc-sffuse:lab/sffuse_main.c hasvc-wdkeeper:hasvc/wdkeeper_main.c
PROG_MAP := $(foreach p,$(PROG_MAP),$(if $(wildcard $(word 2,$(subst :, ,$(p)))),$(p)))
PROGS := $(foreach p,$(PROG_MAP),$(BINDIR)/$(word 1,$(subst :, ,$(p))))
# Programs that are scripts: installed next to the others.
SCRIPTS := $(if $(wildcard lab/hasvc-lab),$(BINDIR)/hasvc-lab)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_STANDALONE := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPERS := $(patsubst tests/helpers/%.c,$(B)/helpers/%,$(HELPER_SRCS))
# The deterministic simulator (tests/sim, docs/simulator.md): a program, not a
# test binary, because `hasvc simulate` runs it too.
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM := $(if $(SIM_SRCS),$(BINDIR)/hasvc-sim)

.PHONY: all deps test check unit fuzz-regress fuzz demo bench depcheck clean format sim-soak
all: $(PROGS) $(SCRIPTS) $(SIM)

$(BINDIR)/hasvc-lab: lab/hasvc-lab
	@mkdir -p $(dir $@)
	$(Q)install -m 0755 $< $@

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

define archive_rule
$(B)/lib$(1).a: $(patsubst %.c,$(B)/obj/%.o,$(call layer_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	@$(if $(Q),echo "  AR      $$@")
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(if $(call layer_srcs,$(l)),$(eval $(call archive_rule,$(l)))))

define prog_rule
$(BINDIR)/$(1): $(B)/obj/$(2:.c=.o) $(ARCHIVES)
	@mkdir -p $$(dir $$@)
	@$(if $(Q),echo "  LD      $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$< $(ARCHIVES) $(LDLIBS) $$(LDLIBS_$(1))
endef
# Libraries only one program needs.
LDLIBS_hasvc-sffuse = $(shell pkg-config --libs fuse3 2>/dev/null)
$(foreach p,$(PROG_MAP),$(eval $(call prog_rule,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p))))))

$(BINDIR)/hasvc-sim: $(patsubst %.c,$(B)/obj/%.o,$(SIM_SRCS)) $(ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(patsubst %.c,$(B)/obj/%.o,$(SIM_SRCS)) $(ARCHIVES) $(LDLIBS)

# Unit tests are built with HASVC_TESTING so that ALWAYS()/NEVER() surprises abort.
$(B)/tests/%: tests/unit/%.c $(ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) -DHASVC_TESTING $(CFLAGS) $(LDFLAGS) -o $@ $< $(ARCHIVES) $(LDLIBS) $(TEST_LDLIBS)

$(B)/bench/%: bench/%.c $(ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ARCHIVES) $(LDLIBS)

$(B)/helpers/%: tests/helpers/%.c $(ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ARCHIVES) $(LDLIBS)

# Fuzz targets, built with a standalone driver that replays the corpus and
# random inputs; `make fuzz` builds the same targets against libFuzzer.
$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/standalone.c $(ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/standalone.c $(ARCHIVES) $(LDLIBS)

deps:
	@scripts/deps.sh

depcheck:
	@scripts/depcheck.sh .

unit: $(UNIT_TESTS)
fuzz-regress: $(FUZZ_STANDALONE)

check: all $(SIM) $(UNIT_TESTS) $(FUZZ_STANDALONE) $(HELPERS) $(BENCHES)
	@BINDIR=$(BINDIR) BUILD=$(B) VARIANT=$(VARIANT) tests/run.sh

test: deps
	@$(MAKE) --no-print-directory depcheck
	@$(MAKE) --no-print-directory ASAN=1 UBSAN=1 FAULTS=1 check
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory test-xen

# The real-Xen tests (Xen + dom0 under QEMU, one boot per scenario):
# tests/xen/xen.mk, docs/xen-tests.md.
include tests/xen/xen.mk

# 100,000 random simulator schedules on the release build: prints the count,
# the faults exercised, the decisions and 0 violations (exit 1 otherwise).
sim-soak:
	@$(MAKE) --no-print-directory ASAN= UBSAN= FAULTS= COVERAGE= bin/hasvc-sim
	bin/hasvc-sim --seeds 100000 --quiet

FUZZ_SECONDS ?= 30
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@BINDIR=$(BINDIR) BUILD=$(B) bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
