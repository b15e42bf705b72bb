# flota: `make demo` runs the main job, `make test` the tests (see README).
GO      ?= go
BIN     := bin
VERSION ?= 0.1.0-dev
LDFLAGS := -X github.com/flota-dev/flota/ctl.Version=$(VERSION)

.PHONY: build demo test bench lint fuzz clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/flotad ./cmd/flotad
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/flotactl ./cmd/flotactl

demo: build
	./demo/story.sh

# Unit, integration (real embedded etcd) and property tests, with the race
# detector, then a short run of the unit-file fuzzer.
test: lint
	$(GO) test -race -count=1 ./...
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=20s ./unit/

# The placement benchmark runs five times (each places 10,996 units on a
# fresh embedded etcd); the pure scheduler is timed on its own after it.
bench:
	$(GO) test -run='^$$' -bench=Placement -benchtime=1x -count=5 ./engine/
	$(GO) test -run='^$$' -bench=Schedule -benchmem ./engine/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=5m ./unit/

clean:
	rm -rf $(BIN)
