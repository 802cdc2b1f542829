# The Swift binding: generates tessera.swift, tesseraFFI.h and the module
# map into the Swift package in bindings/swift/, checks that they declare
# the expected API, and, when swiftc is on PATH, compiles and runs the Swift
# test program against the library. Uses the library and generator rules of
# mk/kotlin.mk (included before this file).

SWIFT_PKG := bindings/swift
SWIFT_GEN := $(SWIFT_PKG)/Sources/Tessera/tessera.swift
SWIFT_HEADER := $(SWIFT_PKG)/Sources/tesseraFFI/tesseraFFI.h
SWIFT_MODULEMAP := $(SWIFT_PKG)/Sources/tesseraFFI/module.modulemap
SWIFT_BUILD := build/swift

.PHONY: swift-test swift-bindings

EXTRA_TESTS += swift-test
SKIP_RULES += swift-test
test: swift-test

swift-test: swift-bindings
	$(SKIP_RESET)
	@if command -v swiftc >/dev/null; then \
		echo "swift-test: compiling with $$(swiftc --version 2>&1 | head -n1)"; \
		mkdir -p $(SWIFT_BUILD); \
		swiftc -swift-version 5 -module-name TesseraCheck \
			-I $(SWIFT_PKG)/Sources/tesseraFFI \
			-L $(UNIFFI_TARGET_DIR)/release -ltessera_uniffi \
			$(SWIFT_GEN) $(SWIFT_PKG)/Tests/TesseraCheck/main.swift \
			-o $(SWIFT_BUILD)/tessera-check; \
		LD_LIBRARY_PATH=$(UNIFFI_TARGET_DIR)/release \
			DYLD_LIBRARY_PATH=$(UNIFFI_TARGET_DIR)/release \
			$(SWIFT_BUILD)/tessera-check; \
	else \
		mkdir -p "$$TESSERA_SKIP_DIR/swift"; \
		echo "swiftc is not on PATH (Debian ships no Swift toolchain); the generated" \
			"Swift sources were checked, not compiled" > "$$TESSERA_SKIP_DIR/swift/TesseraCheck"; \
	fi
	$(SKIP_SUMMARY)

## Generates the Swift sources into the package, replacing a file only when
## its text changes, then checks the declarations an app relies on.
swift-bindings: uniffi-library
	@mkdir -p $(SWIFT_BUILD)/gen.tmp $(dir $(SWIFT_GEN)) $(dir $(SWIFT_HEADER))
	$(UNIFFI_BINDGEN) generate --library $(UNIFFI_LIB) --language swift \
		--no-format --metadata-no-deps --out-dir $(SWIFT_BUILD)/gen.tmp
	@cmp -s $(SWIFT_BUILD)/gen.tmp/tessera.swift $(SWIFT_GEN) \
		|| cp $(SWIFT_BUILD)/gen.tmp/tessera.swift $(SWIFT_GEN)
	@cmp -s $(SWIFT_BUILD)/gen.tmp/tesseraFFI.h $(SWIFT_HEADER) \
		|| cp $(SWIFT_BUILD)/gen.tmp/tesseraFFI.h $(SWIFT_HEADER)
	@cmp -s $(SWIFT_BUILD)/gen.tmp/tesseraFFI.modulemap $(SWIFT_MODULEMAP) \
		|| cp $(SWIFT_BUILD)/gen.tmp/tesseraFFI.modulemap $(SWIFT_MODULEMAP)
	@rm -rf $(SWIFT_BUILD)/gen.tmp
	@missing=0; \
	for decl in 'open class Engine:' 'public convenience init(path: String?, config: EngineConfig)' \
		'open func shutdown()' 'open class Verifier:' 'public static func fromJwks(' \
		'open class TokenKeeper:' 'public protocol Refresher:' 'open func accessToken(refresher: Refresher)' \
		'enum TesseraError: Swift.Error' 'public func code() -> String' 'public enum Access' \
		'public struct EngineConfig' 'public struct TokenPair' 'public struct Claims' \
		'public struct Session' 'public struct NewPat' 'public struct Pat' \
		'public func errorCatalog() -> [ErrorCode]' 'case RandomFailed(' \
		'import tesseraFFI'; do \
		grep -qF "$$decl" $(SWIFT_GEN) || { echo "swift-bindings: tessera.swift lacks: $$decl"; missing=1; }; \
	done; \
	grep -q 'uniffi_tessera_uniffi_fn_constructor_engine_new' $(SWIFT_HEADER) \
		|| { echo "swift-bindings: tesseraFFI.h lacks the engine constructor"; missing=1; }; \
	grep -q '^module tesseraFFI' $(SWIFT_MODULEMAP) \
		|| { echo "swift-bindings: module.modulemap does not define tesseraFFI"; missing=1; }; \
	if grep -qE 'func (close|destroy)\(\) throws|case message\(' $(SWIFT_GEN); then \
		echo "swift-bindings: a generated name collides"; missing=1; fi; \
	test $$missing = 0
	@echo "swift-bindings: tessera.swift, tesseraFFI.h and module.modulemap generated and checked"
