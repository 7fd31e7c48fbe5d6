# ldapply — make demo runs the main job on local defaults; make test runs every test.
GO      ?= go
BIN     := bin/ldapply
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build package demo test test-deps test-short bench soak soak-ci fuzz lint fmt man update-golden deps install clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ldapply

# package: .deb, .rpm and .tar.gz for linux/amd64 and arm64 with SHA256SUMS
# in dist/ (packaging/build.sh says how they are made reproducible).
package:
	GO=$(GO) packaging/build.sh

install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/ldapply

# deps makes sure the OpenLDAP server and client tools are there; as root it
# installs them (Debian/Ubuntu), otherwise it says exactly what to install.
deps:
	@if command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing slapd and ldap-utils (Debian packages)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null; \
	else \
		echo "ldapply's demo and tests need OpenLDAP: run  sudo apt-get install slapd ldap-utils" >&2; exit 1; \
	fi

# test-deps adds what only the tests need: Samba AD DC, PostgreSQL, and
# Node.js with npm for the SCIM server built on SCIMMY (fixtures/scimserver).
test-deps: deps
	@if { command -v samba-tool >/dev/null 2>&1 && [ -x /usr/sbin/samba ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing samba and samba-ad-dc (Debian packages) for the Active Directory tests…"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samba samba-ad-dc >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samba samba-ad-dc >/dev/null; }; \
	else \
		echo "The Active Directory tests need Samba (they skip without it): sudo apt-get install samba samba-ad-dc" >&2; \
	fi
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing postgresql (Debian package) for the PostgreSQL state tests…"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; \
	else \
		echo "The PostgreSQL state tests need PostgreSQL (they skip without it): sudo apt-get install postgresql" >&2; \
	fi
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing nodejs and npm (Debian packages) for the SCIM server tests…"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }; \
	else \
		echo "The SCIM server tests need Node.js and npm (they skip without them): sudo apt-get install nodejs npm" >&2; \
	fi

# demo KEEP=1 keeps slapd and the simulator running afterwards, prints the
# config and commands to try, and stops on Ctrl-C.
demo: deps build
	$(GO) run ./fixtures/cmd/demo -ldapply $(BIN) $(if $(KEEP),-keep)

# The patched go-asn1-ber (partialvendor/, see its PATCHES.md) is a module
# of its own: its tests run too.
BER := partialvendor/github.com/go-asn1-ber/asn1-ber

test: test-deps
	$(GO) test -race -count=1 ./...
	$(GO) -C $(BER) test -race -count=1 ./...

test-short:
	$(GO) test -short ./...

# bench: the Go micro-benchmarks, then the directory-scale harness
# (BENCH_SIZES users against Icinga, BENCH_UDM_SIZES against UDM; results
# in bench/results.md, profiles in bench/out/). BENCH_ONLY=udm or
# BENCH_ONLY=contention runs that part alone and updates its section.
BENCH_SIZES ?= 1000,10000,100000
BENCH_UDM_SIZES ?= 1000,10000
BENCH_RUNS ?= 7
bench: deps build
	{ $(GO) test -run '^$$' -bench . -benchmem ./plan/ ./planfile/ ./planner/ ./state/ && \
	  $(GO) test -run '^$$' -bench DNCache -benchmem ./providers/ldap/ && \
	  $(GO) -C $(BER) test -run '^$$' -bench ReadSearchEntry -benchmem . ; } | tee bench/go-bench.txt
	$(GO) run ./fixtures/cmd/bench -ldapply $(BIN) -sizes $(BENCH_SIZES) -udm-sizes $(BENCH_UDM_SIZES) -runs $(BENCH_RUNS) -out bench/results.md -profile bench/out

# soak: the seeded chaos soak (fixtures/cmd/soak): every target × state
# backend, a 2,000-user directory in real slapd, one fault drawn from
# the seed per apply, invariants checked after every round; it prints a
# Markdown table and exits 1 on any violation. A violation names the
# command that repeats it: make soak SEED=… ONLY=target/backend ROUNDS=….
# SEED takes a comma-separated list; BUDGET (a Go duration, 0 = none)
# stops starting rounds once spent; FAULTS=SIGKILL,reset draws only the
# fault classes named so. A violation's report also names its first
# failing round alone (REPLAY='round=…;class=…', the spec it prints) and,
# after rerunning the seed with smaller schedules, the smallest that
# still fails. soak-ci is the short sample CI runs.
SEED   ?= 1
ONLY   ?=
ROUNDS ?= 120
BUDGET ?= 0
FAULTS ?=
REPLAY ?=
soak: test-deps build
	$(GO) run ./fixtures/cmd/soak -ldapply $(BIN) -seed $(SEED) -only "$(ONLY)" -rounds $(ROUNDS) -budget $(BUDGET) -faults "$(FAULTS)" -replay "$(REPLAY)"

SOAK_CI_SEEDS ?= 101,102
soak-ci: test-deps build
	$(GO) run ./fixtures/cmd/soak -ldapply $(BIN) -seed $(SOAK_CI_SEEDS) -rounds 8 -budget 240s

# fuzz runs each fuzz target for FUZZTIME; the corpora in testdata/fuzz
# also run as plain tests in make test.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./planfile
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./cmd/ldapply
	$(GO) test -run '^$$' -fuzz '^FuzzMapping$$' -fuzztime $(FUZZTIME) ./providers/mapping
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeDN$$' -fuzztime $(FUZZTIME) ./providers/ldap
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMatchesReference$$' -fuzztime $(FUZZTIME) ./providers/scim
	$(GO) -C $(BER) test -run '^$$' -fuzz '^FuzzReadPacketMatchesUpstream$$' -fuzztime $(FUZZTIME) .

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C $(BER) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

man: build
	$(BIN) man > docs/ldapply.1

update-golden:
	$(GO) test ./plan -update

clean:
	rm -rf bin dist
