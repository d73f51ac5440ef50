# tests/xen/xen.mk: the real-Xen tests (issue 10, docs/xen-tests.md), for the
# Makefile to include:
#
#   make test-xen    install what is missing (Debian packages), build the
#                    release programs and test_hv_xen, boot Xen + dom0 in
#                    QEMU once per scenario; PASS/FAIL per scenario with its
#                    time; exit 1 on any failure
#
# Exits 0 with a loud SKIPPED line only when QEMU / Xen's tools cannot be
# installed (tests/xen/run.sh --deps exits 77).  XEN_SCENARIOS=... runs some.
XEN_SCENARIOS ?=
XEN_RUN ?= tests/xen/run.sh

.PHONY: test-xen
test-xen:
	@rc=0; $(XEN_RUN) --deps || rc=$$?; \
	if [ $$rc -eq 77 ]; then \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!!! test-xen SKIPPED: qemu-system-x86 / Xen's tools cannot be installed !!!"; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		exit 0; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	$(MAKE) --no-print-directory ASAN= UBSAN= FAULTS= COVERAGE= XEN=1 all build/release/tests/test_hv_xen && \
	BINDIR=$(CURDIR)/bin TESTBIN=$(CURDIR)/build/release/tests $(XEN_RUN) $(XEN_SCENARIOS)
