# Commands the other mk files need from Debian packages, beyond the Rust
# toolchain: each is installed with apt-get on first use, which needs root;
# run as another user, make stops at the first one missing and names the
# package to install. (JNA and PostgreSQL are installed the same way, by
# mk/kotlin.mk and tests/pg/with-postgres.sh.)
#
#   debian-jdk    javac and java, for kotlinc and the Kotlin test
#   debian-npm    npm (and Node.js), which installs kotlinc into .tools/
#   debian-venv   Python's venv and ensurepip, for .venv
#   debian-cxx    a C++ compiler, for libFuzzer in the fuzz targets
#
# Rules depend on them order-only (`| debian-npm`): the checks are a few
# `command -v` calls, run each time, and never make anything stale.

.PHONY: debian-jdk debian-npm debian-venv debian-cxx

# $(call debian-need,CHECK,PACKAGE,WHAT): unless the shell command CHECK
# succeeds, installs PACKAGE (which gives WHAT), or fails naming it.
define debian-need
	@if ! $(1) >/dev/null 2>&1; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make: $(3) is missing: install Debian's $(2) as root" \
				"(apt-get install $(2)), then run make again" >&2; \
			exit 1; \
		fi; \
		echo "make: installing Debian's $(2), for $(3)"; \
		apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
		$(1) >/dev/null; \
	fi
endef

debian-jdk:
	$(call debian-need,command -v javac,default-jdk-headless,a JDK (javac and java))
debian-npm:
	$(call debian-need,command -v npm,npm,npm (Node.js's package manager))
debian-venv:
	$(call debian-need,python3 -c 'import ensurepip; import venv',python3-venv,Python's venv module)
debian-cxx:
	$(call debian-need,command -v c++,g++,a C++ compiler)
