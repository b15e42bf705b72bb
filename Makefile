# flota: `make demo` runs the main job, `make test` the tests (see README).
GO      ?= go
BIN     := bin
VERSION ?= 0.1.0-dev
LDFLAGS := -X github.com/flota-dev/flota/ctl.Version=$(VERSION) -X github.com/flota-dev/flota/daemon.Version=$(VERSION)

.PHONY: build man install deb deps demo demo-local test bench scale lint fuzz clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/flotad ./cmd/flotad
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/flotactl ./cmd/flotactl
	$(GO) build -o $(BIN)/flota-image ./cmd/flota-image
	$(GO) build -o $(BIN)/flota-sim ./cmd/flota-sim
	$(GO) build -o $(BIN)/flota-scale ./cmd/flota-scale

# Man pages from the commands' own definitions, dated by the last commit.
MAN_DATE ?= $(shell git log -1 --format=%cs 2>/dev/null || date +%F)
man:
	$(GO) run ./cmd/flota-man --date=$(MAN_DATE) $(BIN)/man

# make install [DESTDIR=...] [PREFIX=/usr]: the binaries, flotad.service
# (Type=notify), the default config (kept if there) and the man pages.
PREFIX  ?= /usr
DESTDIR ?=
install: build man
	install -D -m 0755 $(BIN)/flotad $(DESTDIR)$(PREFIX)/bin/flotad
	install -D -m 0755 $(BIN)/flotactl $(DESTDIR)$(PREFIX)/bin/flotactl
	install -D -m 0755 $(BIN)/flota-image $(DESTDIR)$(PREFIX)/bin/flota-image
	install -D -m 0644 packaging/flotad.service $(DESTDIR)/lib/systemd/system/flotad.service
	[ -e $(DESTDIR)/etc/flota/flotad.conf ] || install -D -m 0644 packaging/flotad.conf $(DESTDIR)/etc/flota/flotad.conf
	install -D -m 0644 $(BIN)/man/flotactl.1 $(DESTDIR)$(PREFIX)/share/man/man1/flotactl.1
	install -D -m 0644 $(BIN)/man/flotad.8 $(DESTDIR)$(PREFIX)/share/man/man8/flotad.8
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
	$(BIN)/flotactl completion bash >$(DESTDIR)$(PREFIX)/share/bash-completion/completions/flotactl
	$(BIN)/flotactl completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_flotactl

# make deb: $(BIN)/flota_$(VERSION)_<arch>.deb, with dpkg-deb.
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
deb:
	rm -rf $(BIN)/deb
	$(MAKE) install DESTDIR=$(abspath $(BIN)/deb) PREFIX=/usr BIN=$(BIN)
	mkdir -p $(BIN)/deb/DEBIAN
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' packaging/control >$(BIN)/deb/DEBIAN/control
	cp packaging/conffiles $(BIN)/deb/DEBIAN/conffiles
	dpkg-deb --root-owner-group --build $(BIN)/deb $(BIN)/flota_$(VERSION)_$(DEB_ARCH).deb

# What the test machines need (Debian packages), when we can install them:
# the end-to-end tests skip without them (and fail under CI=true).
# (busybox-static gives the image-build tests a tree nspawn can run a shell in;
# chromium is the headless browser of the dashboard's test.)
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "deps: not root, skipping harness/cluster deps"; exit 0; fi; \
	harness/cluster deps; \
	dpkg -s busybox-static chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q --no-install-recommends busybox-static chromium; }

# The seed's story on a real cluster of systemd-nspawn machines (root).
demo: build deps
	./demo/cluster.sh

# The same placements on flotad processes on loopback, without systemd.
demo-local: build
	./demo/story.sh

# Unit, integration (real embedded etcd) and property tests, with the race
# detector, then a short run of the unit-file fuzzer. Tests' artifacts (the
# dashboard's screenshots) are kept under $(ARTIFACTS)/_artifacts/.
ARTIFACTS ?= $(BIN)/test-artifacts
test: lint deps
	mkdir -p $(ARTIFACTS)
	$(GO) test -race -count=1 -artifacts -outputdir=$(abspath $(ARTIFACTS)) ./...
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=20s ./unit/

# The placement benchmarks run five times each (the plain mix places 10,996
# units, the group-rule mix 10,000, on a fresh embedded etcd); the pure
# scheduler is timed on its own after them;
# 1,000 machine leases kept alive through 30 s of write load (none may be
# lost);
# then the image store on a BTRFS loop file (task snapshot, bytes to ship
# an application layer), and start latency and a drain of 50 units on the
# nspawn cluster, plain units and containers (root; skipped without it).
bench: deps
	$(GO) test -run='^$$' -bench=Placement -benchtime=1x -count=5 ./engine/
	$(GO) test -run='^$$' -bench=Schedule -benchmem ./engine/
	$(GO) test -run='^$$' -bench=IncrementalScale -benchtime=200x ./engine/
	$(GO) test -run='^$$' -bench=LeasesUnderLoad -benchtime=1x ./engine/
	$(GO) test -run='^$$' -bench='Snapshot|ShipAppLayer' ./agent/image/
	$(GO) test -run='^$$' -bench='Start|Drain50' -benchtime=1x ./e2e/

# The scale run of issue 11 (not part of test or bench): one etcd (a flotad
# running only its embedded member), two engines apart, simulated machines
# in flota-sim processes of 1,000 each; SCALE_FLAGS sizes it (flota-scale
# --help), e.g.
# make scale SCALE_FLAGS='--machines=5000 --units=150000 --timeout=30m'.
SCALE_FLAGS ?=
scale: build
	$(BIN)/flota-scale --bin=$(BIN) $(SCALE_FLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v shellcheck >/dev/null; then shellcheck harness/cluster harness/smoke harness/image/configure.sh demo/*.sh; fi

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=5m ./unit/

clean:
	rm -rf $(BIN)
