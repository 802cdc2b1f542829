# The uniffi bindings: the library they load, the generator, and the Kotlin
# check. `make kotlin-test` builds the library, generates tessera.kt,
# compiles it with the test program (kotlinc -Werror) and runs the program
# with assertions on. mk/swift.mk reuses the library and generator below.
#
# Reruns are cheap: cargo decides whether the library is stale, generated
# sources are replaced only when their text changes, and kotlinc (about 40 s)
# runs only when a Kotlin source changed.

KOTLIN_VERSION := 2.4.20
KOTLINC := .tools/node_modules/kotlin-compiler/bin/kotlinc
KOTLINC_STAMP := .tools/kotlin-compiler-$(KOTLIN_VERSION).stamp
JNA_JAR := /usr/share/java/jna.jar

# Where cargo puts the library; follows CARGO_TARGET_DIR when it is set.
UNIFFI_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
UNIFFI_LIB := $(UNIFFI_TARGET_DIR)/release/libtessera_uniffi.$(if $(filter Darwin,$(shell uname -s)),dylib,so)
# The generator only reads the library's metadata: built unoptimised, it
# compiles in about a third of the time of a release build (119 s against
# 361 s from an empty target folder on two busy cores).
UNIFFI_BINDGEN := $(UNIFFI_TARGET_DIR)/debug/uniffi-bindgen

KOTLIN_BUILD := build/kotlin
KOTLIN_GEN := $(KOTLIN_BUILD)/gen/uniffi/tessera/tessera.kt
KOTLIN_SOURCES := $(wildcard bindings/kotlin/*.kt)
KOTLIN_JAR := $(KOTLIN_BUILD)/tessera-test.jar

.PHONY: kotlin-test uniffi-library FORCE

EXTRA_TESTS += kotlin-test
# The top-level `test` rule expands EXTRA_TESTS before this file is
# included, so the prerequisite is also added here directly.
test: kotlin-test

kotlin-test: $(KOTLIN_JAR) uniffi-library $(JNA_JAR) | debian-jdk
	@echo "kotlin-test: running the Kotlin program"
	java -ea -Djna.library.path=$(UNIFFI_TARGET_DIR)/release \
		-cp $(KOTLIN_JAR):$(JNA_JAR) tessera.bindings.test.TesseraTestKt

## The library (release) and the generator (debug); no-ops when fresh.
uniffi-library:
	$(CARGO) build --release -p tessera-uniffi --lib
	$(CARGO) build -p tessera-uniffi --features cli --bin uniffi-bindgen

# Generation rewrites its output only when the text changes, so that a
# relinked but identical library does not cost a kotlinc run.
$(KOTLIN_GEN): uniffi-library FORCE
	@mkdir -p $(KOTLIN_BUILD)/gen.tmp
	$(UNIFFI_BINDGEN) generate --library $(UNIFFI_LIB) --language kotlin \
		--no-format --metadata-no-deps --out-dir $(KOTLIN_BUILD)/gen.tmp
	@grep -q 'open class TokenKeeper' $(KOTLIN_BUILD)/gen.tmp/uniffi/tessera/tessera.kt
	@mkdir -p $(dir $@)
	@cmp -s $(KOTLIN_BUILD)/gen.tmp/uniffi/tessera/tessera.kt $@ \
		|| cp $(KOTLIN_BUILD)/gen.tmp/uniffi/tessera/tessera.kt $@
	@rm -rf $(KOTLIN_BUILD)/gen.tmp

$(KOTLIN_JAR): $(KOTLIN_GEN) $(KOTLIN_SOURCES) $(KOTLINC_STAMP) $(JNA_JAR) | debian-jdk
	@echo "kotlin-test: compiling with kotlinc $(KOTLIN_VERSION) (about 40 s)"
	@rm -rf $(KOTLIN_BUILD)/jar.tmp && mkdir -p $(KOTLIN_BUILD)/jar.tmp
	$(KOTLINC) -Werror -include-runtime -cp $(JNA_JAR) \
		$(KOTLIN_GEN) $(KOTLIN_SOURCES) -d $(KOTLIN_BUILD)/jar.tmp/$(notdir $@)
	@mv $(KOTLIN_BUILD)/jar.tmp/$(notdir $@) $@ && rm -rf $(KOTLIN_BUILD)/jar.tmp

$(KOTLINC_STAMP): | debian-npm
	npm install --prefix .tools --no-audit --no-fund \
		kotlin-compiler@$(KOTLIN_VERSION)
	@test -x $(KOTLINC)
	@touch $@

# The JDK comes from Debian through debian-jdk (mk/debian.mk); JNA too.
$(JNA_JAR):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java

FORCE:
