# mod_authncontext - hand-written Makefile over configure's config.mk.
#
#   make               build/mod_authncontext.so and build/authncontext-verify
#   make check         every test suite (installs missing Debian packages)
#   make demo          the module + a local IdP on loopback, to click through
#   make check-fresh   make check and make demo in a Debian 12 root with nothing installed
#   make install       the module plus Debian's authncontext.load/.conf
#   make bench         tests/bench against plain httpd (see tests/bench/README.md)
#   make soak SOAK_SECONDS=60   bounded soak + redis fault test
#   make fuzz FUZZ_SECONDS=60   libFuzzer targets
#
# Sources are picked up by pattern: src/anc_*.c is the core (no httpd
# headers), src/httpd_*.c plus mod_authncontext.c the glue, src/cli/*.c the
# verifier CLI, tests/unit/test_*.c the Check suites.

BUILD ?= build
PYTHON ?= /usr/bin/python3
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 60
PEERS ?=
DEMO_ARGS ?=
DESTDIR ?=

# On a fresh machine config.mk does not exist yet and neither may autoconf or
# the -dev packages: install them (as root) and configure before reading it,
# so that `make check` and `make demo` are the only commands one needs.
# config.mk holds only what the build needs and fails configure when absent;
# what the tests add later (Check) is asked of pkg-config when the unit tests
# are built (CHECK_* below), so packages that `make check` installs after
# configure ran are seen (a config.mk written before them said "no Check" and
# every unit test failed to link on a fresh machine).
ifeq ($(filter clean deps check-fresh format format-check,$(MAKECMDGOALS)),)
ifeq ($(wildcard config.mk),)
$(info make: no config.mk yet: installing build dependencies and running ./configure)
ANC_BOOTSTRAP := $(shell bash .ci/install-deps.sh build >&2 && \
    { test -x configure || autoconf; } && ./configure --quiet >&2 && echo ok)
ifneq ($(ANC_BOOTSTRAP),ok)
$(error configure failed: see the messages above)
endif
endif
include config.mk
endif

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter -Wformat=2
CSTD = -std=c11 -D_GNU_SOURCE
OPT ?= -O2 -g
SAN ?=
CORE_CFLAGS = $(CSTD) $(OPT) $(WARN) $(SAN) -fPIC -Iinclude \
              $(APR_CFLAGS) $(APU_CFLAGS) $(XML_CFLAGS) $(XMLSEC_CFLAGS) \
              $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
CORE_LIBS = $(XMLSEC_LIBS) $(XML_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS) \
            $(APU_LIBS) $(APR_LIBS)
# httpd's headers are C99-ish with GNU extensions; the glue is still C11.
GLUE_CFLAGS = $(CORE_CFLAGS) -I$(HTTPD_INCLUDEDIR) -Isrc $(HIREDIS_CFLAGS)

# Check (unit tests only), looked up when a unit test is built, never from a
# config.mk that may predate its installation.
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
HAVE_CHECK = $(shell pkg-config --exists check 2>/dev/null && echo yes || echo no)

CORE_SRC = $(sort $(wildcard src/anc_*.c))
GLUE_SRC = mod_authncontext.c $(sort $(wildcard src/httpd_*.c))
CLI_SRC  = $(sort $(wildcard src/cli/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_SUPPORT = $(sort $(wildcard tests/unit/support_*.c))

# The SAML schemas are compiled into the core (src/anc_structure.c).
SCHEMA_FILES = $(sort $(wildcard src/schemas/*.xsd))
SCHEMA_C = $(BUILD)/gen/anc_schema_files.c
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/anc_schema_files.o
GLUE_OBJ = $(GLUE_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

CORE_LIB = $(BUILD)/libauthncontext.a
MODULE   = $(BUILD)/mod_authncontext.so
CLI      = $(BUILD)/authncontext-verify

.PHONY: all deps check check-unit check-asan check-cli check-security \
        check-integration check-integration-asan check-valgrind check-fresh demo install uninstall bench soak soak-long fuzz format \
        format-check clean

all: $(MODULE) $(CLI)

config.mk: configure config.mk.in
	./configure --quiet
configure: configure.ac
	autoconf

deps:
	bash .ci/install-deps.sh build test

$(BUILD)/obj/src/anc_%.o: src/anc_%.c $(wildcard include/*.h src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@
$(SCHEMA_C): $(SCHEMA_FILES) src/schemas/embed.sh
	@mkdir -p $(dir $@)
	sh src/schemas/embed.sh $@ $(SCHEMA_FILES)
$(BUILD)/obj/gen/anc_schema_files.o: $(SCHEMA_C) src/anc_structure.h
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -Isrc -c $< -o $@
$(BUILD)/obj/src/cli/%.o: src/cli/%.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.c $(wildcard include/*.h src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(GLUE_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# Only the module record is exported (src/exports.map), so the core's symbols
# cannot clash with another module's.
$(MODULE): $(GLUE_OBJ) $(CORE_LIB) src/exports.map
	$(CC) -shared $(SAN) -Wl,--version-script=src/exports.map -Wl,-z,relro,-z,now \
	    -o $@ $(GLUE_OBJ) $(CORE_LIB) $(CORE_LIBS) $(HIREDIS_LIBS)

$(CLI): $(CLI_OBJ) $(CORE_LIB)
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(CORE_LIB) $(CORE_LIBS)

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_SUPPORT) $(CORE_LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@test "$(HAVE_CHECK)" = yes || { echo "unit tests need Check: run 'make deps' (Debian package check)" >&2; exit 1; }
	$(CC) $(CORE_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(UNIT_SUPPORT) \
	    $(CORE_LIB) $(CORE_LIBS) $(CHECK_LIBS)

# --- tests -----------------------------------------------------------------

check: deps
	$(MAKE) all
	$(MAKE) check-unit
	$(MAKE) check-asan
	$(MAKE) check-cli
	$(MAKE) check-security
	$(MAKE) check-integration

# Test fixtures (keys, metadata, signed responses) are made fresh by an
# independent signer (tests/lib/samlforge.py, python3-xmlsec), never by the
# product's own code.
TESTDATA = $(BUILD)/testdata
$(TESTDATA)/manifest.tsv: $(wildcard tests/lib/*.py)
	$(PYTHON) tests/lib/samlforge.py fixtures $(TESTDATA)

check-unit: $(UNIT_BIN) $(CLI) $(TESTDATA)/manifest.tsv
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$t"; ANC_TEST_DATA=$(CURDIR)/$(TESTDATA) $$t; done

# The unit suites again with AddressSanitizer + UndefinedBehaviorSanitizer,
# in a separate build tree so the normal objects stay untouched.
check-asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    check-unit check-cli check-security

check-valgrind: $(UNIT_BIN) $(TESTDATA)/manifest.tsv
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	    CK_FORK=no ANC_TEST_DATA=$(CURDIR)/$(TESTDATA) valgrind -q --error-exitcode=1 \
	    --leak-check=full --errors-for-leak-kinds=definite $$t; done

# The python suites find the artifacts of this build tree through
# ANC_BUILD_DIR, so the ASan tree can run them too.
PYTEST = cd tests && ANC_BUILD_DIR=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider

check-cli: $(CLI)
	$(PYTEST) cli lib/test_samlforge.py

# Through the CLI and through a live httpd's ACS (tests/security/livehttpd.py).
check-security: $(CLI) $(MODULE)
	$(PYTEST) security lib/test_attacks.py

check-integration: all
	$(PYTEST) integration

# The module built with AddressSanitizer + UBSan inside Debian's apache2
# (libasan preloaded by the fixtures), through the integration suite and the
# live-httpd attacks. Sanitizer reports land in the error logs, which every
# test checks.
ASAN_HTTPD_BUILD = build/asan-httpd
check-integration-asan:
	$(MAKE) BUILD=$(ASAN_HTTPD_BUILD) OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined" $(ASAN_HTTPD_BUILD)/mod_authncontext.so \
	    $(ASAN_HTTPD_BUILD)/authncontext-verify
	cd tests && ANC_BUILD_DIR=$(CURDIR)/$(ASAN_HTTPD_BUILD) \
	    ANC_HTTPD_PRELOAD=$$(gcc -print-file-name=libasan.so) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider integration security/test_attacks_httpd.py \
	    security/test_context_attacks.py security/test_session_attacks.py

# --- running the product ---------------------------------------------------

demo:
	bash .ci/install-deps.sh demo
	$(MAKE) all
	$(PYTHON) tests/demo/run_demo.py $(DEMO_ARGS)

# The README's commands (`make check`, then `make demo` started and stopped)
# inside a minimal Debian 12 root that has nothing installed (as root; see
# tests/fresh/check_fresh.sh). FRESH_EXTRA adds make goals run there too.
check-fresh:
	bash tests/fresh/check_fresh.sh

# PEERS=1 also installs and measures the peer modules (tests/bench/README.md);
# BENCH_ARGS passes options to run_bench.py (e.g. --no-readme, --quick).
bench:
	bash .ci/install-deps.sh bench $(if $(filter-out 0,$(PEERS)),peers)
	$(MAKE) all
	PEERS=$(PEERS) ANC_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) tests/bench/run_bench.py $(BENCH_ARGS)

# Bounded soak + redis fault test (tests/bench/soak.py); SOAK_SECONDS of load.
soak:
	bash .ci/install-deps.sh bench
	$(MAKE) all
	ANC_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) tests/bench/soak.py --seconds $(SOAK_SECONDS)

# The long soak (not in CI): long enough for the worker's RSS slope after
# the warm-up to tell a leak from allocator growth (soak.py --max-slope).
SOAK_LONG_SECONDS ?= 1800
soak-long:
	$(MAKE) soak SOAK_SECONDS=$(SOAK_LONG_SECONDS)

fuzz:
	bash .ci/install-deps.sh fuzz
	$(MAKE) -f tests/fuzz/fuzz.mk FUZZ_SECONDS=$(FUZZ_SECONDS) run

# Debian's places. The module, the CLI and the docs are the package's own and
# are replaced; the admin's files under /etc are never overwritten: an edited
# authncontext.conf stays, and the shipped one lands beside it as
# authncontext.conf.dist (as dpkg's .dpkg-dist), with a note.
DOCDIR = /usr/share/doc/mod-authncontext
EXAMPLEDIR = $(DOCDIR)/examples
CGIDIR = /usr/lib/cgi-bin
MODS_AVAILABLE = $(HTTPD_SYSCONFDIR)/mods-available
install: all
	install -d $(DESTDIR)$(HTTPD_LIBEXECDIR) $(DESTDIR)$(MODS_AVAILABLE) \
	    $(DESTDIR)/usr/bin $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(CGIDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(HTTPD_LIBEXECDIR)/mod_authncontext.so
	install -m 0755 $(CLI) $(DESTDIR)/usr/bin/authncontext-verify
	install -m 0755 conf-examples/authncontext-fetch-metadata $(DESTDIR)/usr/bin/
	install -d $(DESTDIR)/usr/share/man/man1
	install -m 0644 src/cli/authncontext-verify.1 $(DESTDIR)/usr/share/man/man1/
	@set -e; for f in authncontext.load authncontext.conf; do \
	    dst=$(DESTDIR)$(MODS_AVAILABLE)/$$f; \
	    if [ -e "$$dst" ] && ! cmp -s conf-examples/$$f "$$dst"; then \
	        install -m 0644 conf-examples/$$f "$$dst.dist"; \
	        echo "install: kept your $$dst; the shipped version is $$dst.dist"; \
	    else install -m 0644 conf-examples/$$f "$$dst"; fi; done
	install -m 0644 README.md LICENSE $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf-examples/*.conf conf-examples/README.md $(DESTDIR)$(EXAMPLEDIR)/
	install -m 0755 conf-examples/auth-error.cgi conf-examples/variables.cgi $(DESTDIR)$(EXAMPLEDIR)/
	@if [ -e $(DESTDIR)$(CGIDIR)/authncontext-error.cgi ]; then \
	    echo "install: kept your $(CGIDIR)/authncontext-error.cgi"; \
	else install -m 0755 conf-examples/auth-error.cgi $(DESTDIR)$(CGIDIR)/authncontext-error.cgi; fi

# Removes what install put in place; an admin's edited .conf stays (with a
# note), as do the module's enabled links (a2dismod authncontext first).
uninstall:
	rm -f $(DESTDIR)$(HTTPD_LIBEXECDIR)/mod_authncontext.so $(DESTDIR)/usr/bin/authncontext-verify \
	    $(DESTDIR)/usr/bin/authncontext-fetch-metadata \
	    $(DESTDIR)/usr/share/man/man1/authncontext-verify.1 \
	    $(DESTDIR)$(MODS_AVAILABLE)/authncontext.conf.dist $(DESTDIR)$(MODS_AVAILABLE)/authncontext.load.dist
	@set -e; for f in authncontext.load authncontext.conf; do \
	    dst=$(DESTDIR)$(MODS_AVAILABLE)/$$f; \
	    if [ -e "$$dst" ] && ! cmp -s conf-examples/$$f "$$dst"; then \
	        echo "uninstall: kept your edited $$dst"; else rm -f "$$dst"; fi; done
	@if cmp -s conf-examples/auth-error.cgi $(DESTDIR)$(CGIDIR)/authncontext-error.cgi; then \
	    rm -f $(DESTDIR)$(CGIDIR)/authncontext-error.cgi; \
	elif [ -e $(DESTDIR)$(CGIDIR)/authncontext-error.cgi ]; then \
	    echo "uninstall: kept your edited $(CGIDIR)/authncontext-error.cgi"; fi
	rm -rf $(DESTDIR)$(DOCDIR)

# --- housekeeping ------------------------------------------------------------

FORMAT_FILES = mod_authncontext.c $(wildcard src/*.c src/*.h src/cli/*.c include/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build config.mk config.log config.status autom4te.cache
