# tests/fuzz/fuzz.mk - libFuzzer targets over the core, built with clang and
# AddressSanitizer + UndefinedBehaviorSanitizer into build/fuzz (never into
# build/, whose objects are gcc's).
#
#   make fuzz FUZZ_SECONDS=60                 every target for 60 s each
#   make -f tests/fuzz/fuzz.mk build          only build the targets
#   make -f tests/fuzz/fuzz.mk regress        replay tests/fuzz/regressions
#   make -f tests/fuzz/fuzz.mk run TARGETS=fuzz_redirect FUZZ_SECONDS=30
#
# The run fails when any target finds a crash, a leak, UB or a timeout; the
# input is kept in build/fuzz/crashes/<target>-<kind>-<sha1>. Minimise it
# with `build/fuzz/<target> -minimize_crash=1 -runs=10000 FILE` and add it
# under tests/fuzz/regressions/<target>/.

include config.mk

PYTHON ?= /usr/bin/python3
CLANG ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build/fuzz
TARGETS ?= fuzz_response fuzz_metadata fuzz_redirect fuzz_session fuzz_template fuzz_structure fuzz_logout fuzz_disco

# UB aborts (no recovery) so that libFuzzer records it as a crash.
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_BASE = -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
            -Iinclude -Isrc $(APR_CFLAGS) $(APU_CFLAGS) $(XML_CFLAGS) \
            $(XMLSEC_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter -Wformat=2
# Our targets are held to -Werror. The core is gcc-clean by the main
# Makefile's rules; a clang-only warning in it must not stop the fuzzing
# (it is printed, and reported), hence no -Werror for the core objects.
TARGET_CFLAGS = $(FUZZ_BASE) $(WARN) -Werror
CORE_FUZZ_CFLAGS = $(FUZZ_BASE) $(WARN) -fsanitize=fuzzer-no-link
LIBS = $(XMLSEC_LIBS) $(XML_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS) $(APU_LIBS) $(APR_LIBS)

CORE_SRC = $(sort $(wildcard src/anc_*.c))
CORE_OBJ = $(CORE_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/anc_schema_files.o
SCHEMA_FILES = $(sort $(wildcard src/schemas/*.xsd))
# An archive, so a target links only the core objects it needs.
CORE_LIB = $(FUZZ_BUILD)/libauthncontext-fuzz.a
BINS = $(TARGETS:%=$(FUZZ_BUILD)/%)
FIXTURES = $(FUZZ_BUILD)/fixtures

.PHONY: build seeds regress run clean

build: $(BINS)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard include/*.h src/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(CORE_FUZZ_CFLAGS) -c $< -o $@

# the SAML schemas compiled into the core (see the main Makefile)
$(FUZZ_BUILD)/gen/anc_schema_files.c: $(SCHEMA_FILES) src/schemas/embed.sh
	@mkdir -p $(dir $@)
	sh src/schemas/embed.sh $@ $(SCHEMA_FILES)
$(FUZZ_BUILD)/obj/anc_schema_files.o: $(FUZZ_BUILD)/gen/anc_schema_files.c src/anc_structure.h
	@mkdir -p $(dir $@)
	$(CLANG) $(CORE_FUZZ_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(TARGET_CFLAGS) -fsanitize=fuzzer -o $@ $< $(CORE_LIB) $(LIBS)

# Writes encoded sessions and request states with the core's own encoder:
# the only faithful source of well-formed codec bytes to start from.
$(FUZZ_BUILD)/mkseed_session: tests/fuzz/mkseed_session.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(TARGET_CFLAGS) -o $@ $< $(CORE_LIB) $(LIBS)

# Keys, metadata and signed responses from the independent signer.
$(FIXTURES)/manifest.tsv: $(wildcard tests/lib/*.py)
	$(PYTHON) tests/lib/samlforge.py fixtures $(FIXTURES)

# The built-in page templates, printed by the core itself (mkseed_template).
$(FUZZ_BUILD)/mkseed_template: tests/fuzz/mkseed_template.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(TARGET_CFLAGS) -o $@ $< $(CORE_LIB) $(LIBS)

seeds: $(FIXTURES)/manifest.tsv $(FUZZ_BUILD)/mkseed_session $(FUZZ_BUILD)/mkseed_template
	$(PYTHON) tests/fuzz/make_seeds.py --fixtures $(FIXTURES) \
	    --out $(FUZZ_BUILD)/seeds --session-tool $(FUZZ_BUILD)/mkseed_session \
	    --template-tool $(FUZZ_BUILD)/mkseed_template

regress: build seeds
	$(PYTHON) tests/fuzz/run_fuzz.py --build $(FUZZ_BUILD) --regress-only $(TARGETS)

run: build seeds
	$(PYTHON) tests/fuzz/run_fuzz.py --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) $(TARGETS)

clean:
	rm -rf $(FUZZ_BUILD)
