# lbdoctor: the two commands are "make demo" and "make test".
SHELL   := /bin/bash
GO      ?= go
BIN     ?= bin/lbdoctor
DAEMONS := nginx haproxy keepalived ip
PKGS    := nginx-light libnginx-mod-stream haproxy keepalived iproute2

.PHONY: all build demo test deps corpus lint fuzz bench clean package
CORPUS  ?= $(abspath $(or $(LBDOCTOR_CORPUS),../shared/corpus))

# VERSION names the packages and is stamped into the binary: X.Y.Z on a
# vX.Y.Z tag, X.Y.Z+N.gHASH after it, 0.0.0+N.gHASH before the first tag
# (cmd/lbdpkg/version.sh says how; each is a valid deb and rpm version).
ifeq ($(origin VERSION),undefined)
VERSION := $(shell sh cmd/lbdpkg/version.sh)
endif
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS := -X main.stampedVersion=$(VERSION) -X main.stampedCommit=$(COMMIT)

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lbdoctor

# package builds PKGDIR/lbdoctor_VERSION_ARCH.deb and
# PKGDIR/lbdoctor-VERSION.RPMARCH.rpm with nfpm (cmd/lbdpkg) for each of
# ARCHES (default this machine's; ARCH=arm64 or ARCHES="amd64 arm64"):
# the static binary, the man page and completions it prints of itself,
# examples/, LICENSE and CHANGELOG.md. cmd/lbdpkg's test installs the .deb.
ARCHES     ?= $(or $(ARCH),$(shell $(GO) env GOARCH))
PKGDIR     ?= bin
MAINTAINER ?= lbdoctor maintainers <maintainers@lbdoctor.invalid>
package:
	@hostarch=$$($(GO) env GOARCH); for a in $$(echo $(ARCHES) $$hostarch | tr ' ' '\n' | sort -u); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' \
	    -o $(PKGDIR)/linux_$$a/lbdoctor ./cmd/lbdoctor || exit 1; \
	done; \
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null) $(GO) run ./cmd/lbdpkg -version '$(VERSION)' \
	  -maintainer '$(MAINTAINER)' -out $(PKGDIR) -gen $(PKGDIR)/linux_$$hostarch/lbdoctor \
	  $(foreach a,$(ARCHES),-bin $(a)=$(PKGDIR)/linux_$(a)/lbdoctor)

# The demo judges the bundled HA pair's BACKUP node (testdata/demo/lb2)
# against its host snapshot: nginx, HAProxy and Redis listen on the keepalived VIP,
# which the BACKUP node does not hold. lbdoctor exits 1 for that, as it would
# in CI; the demo succeeds when it does.
demo: build
	@echo '$$ lbdoctor check --root testdata/demo/lb2 --host testdata/demo/lb2.host.yaml'
	@./$(BIN) check --root testdata/demo/lb2 --host testdata/demo/lb2.host.yaml; \
	 status=$$?; echo "(exit status $$status)"; test $$status -eq 1

# deps installs the real daemons the suite runs, when it can (root with
# apt-get); otherwise it says which tests will skip.
deps:
	@missing=""; for d in $(DAEMONS); do command -v $$d >/dev/null 2>&1 || [ -x /usr/sbin/$$d ] || missing="$$missing $$d"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the daemons the suite needs:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PKGS) >/dev/null || exit 1; \
	  else \
	    echo "*** WARNING: missing$$missing and not root with apt-get: the real-daemon and namespace tests"; \
	    echo "*** (TestDaemonsAgree, TestGatherNetns, TestHAPair, TestAnsibleFleet and the other namespace tests) will SKIP. Run 'sudo make test' to run them."; \
	  fi; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "*** WARNING: not root: the tests that build hosts in network namespaces will SKIP (go test -v shows which)."; \
	fi

# corpus proves the parsers on configurations nobody here wrote: golden
# listings reviewed by hand (testdata/corpus, REVIEW.md) and, as root, the
# real nginx and HAProxy in throw-away network namespaces. Without the
# corpus it skips, loudly.
corpus:
	@mkdir -p bin; test -f $(CORPUS)/SOURCES.md || echo "*** WARNING: no real-world corpus at $(CORPUS) (set LBDOCTOR_CORPUS): the corpus tests SKIP"
	@LBDOCTOR_CORPUS=$(CORPUS) $(GO) test -count=1 -v ./parsers/corpus > bin/corpus.log 2>&1; status=$$?; \
	 grep -E -- '^(ok|FAIL)|--- (FAIL|SKIP)|configs \(|configurations run|DISAGREE|not comparable' bin/corpus.log; \
	 echo "(full log: bin/corpus.log)"; exit $$status

test: deps corpus
	@test -z "$$(gofmt -l ansible cmd checks parsers report)" || { echo "gofmt needed:"; gofmt -l ansible cmd checks parsers report; exit 1; }
	$(GO) vet ./...
	@mkdir -p bin
	@echo "go benchmarks, once each (a smoke test; make bench measures)"
	@$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./... > bin/bench-smoke.log 2>&1 || { cat bin/bench-smoke.log; echo "FAIL: a Go benchmark broke (bin/bench-smoke.log)"; exit 1; }
	@LBDOCTOR_CORPUS=$(CORPUS) $(GO) test -count=1 -v $$($(GO) list ./... | grep -v /parsers/corpus) 2>&1 | tee bin/test.log | grep -E '^(ok|FAIL|panic)|--- FAIL' ; status=$${PIPESTATUS[0]}; \
	 skips=$$(grep -E -- '--- SKIP' bin/test.log); \
	 if [ -n "$$skips" ]; then echo "*** SKIPPED tests (reasons in bin/test.log):"; echo "$$skips"; fi; \
	 echo "passed: $$(grep -c -- '--- PASS' bin/test.log), failed: $$(grep -c -- '--- FAIL' bin/test.log), skipped: $$(grep -c -- '--- SKIP' bin/test.log) (full log: bin/test.log)"; \
	 exit $$status

lint:
	gofmt -l ansible cmd checks parsers report
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

# fuzz runs every fuzzer for FUZZTIME each (not in CI); crashers land in
# the package's testdata/fuzz and become seed cases.
FUZZTIME ?= 30s
FUZZ := parsers/nginx:FuzzParse parsers/haproxy:FuzzParse parsers/haproxy:FuzzParseEnvFile \
	parsers/keepalived:FuzzParse parsers/host:FuzzDecode parsers/directive:FuzzScan \
	parsers/sysctl:FuzzParse parsers/systemd:FuzzParse parsers/container:FuzzParse parsers/selinux:FuzzParseCIL \
	cmd/lbdoctor:FuzzExplain cmd/lbdoctor:FuzzCheckNginx cmd/lbdoctor:FuzzCheckHAProxy cmd/lbdoctor:FuzzCheckKeepalived
fuzz:
	@for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$pkg $$fn"; \
	  $(GO) test -run '^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$pkg/ || exit 1; done

# bench: issue 6's speed and memory figures (root: it builds network
# namespaces of its own). lbdbench times lbdoctor check against nginx -t +
# haproxy -c on the generated fixture at 1x, 2x and 4x, and lbdoctor
# snapshot against ss -ltnp on a host with 70,000 connections; the Go
# benchmarks follow, six times each, in bin/bench.txt for benchstat.
bench:
	@mkdir -p bin
	$(GO) run ./cmd/lbdbench -scale 1,2,4 -runs 5 -conns 70000 | tee bin/lbdbench.txt
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./parsers/nginx/ ./parsers/haproxy/ ./parsers/keepalived/ ./parsers/host/ ./checks/ ./cmd/lbdoctor/ | tee bin/bench.txt

clean:
	rm -rf bin
