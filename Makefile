# mimic's build and test targets. `make help` lists them.

POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export MIMIC_TEST_POSTGRES ?= $(POSTGRES)

.PHONY: help build test test-unit test-compat test-bench bench bench-authz fuzz vet

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/mimic
	go build -o bin/mimic ./cmd/mimic

test: vet test-unit test-compat test-bench ## run every test; a missing dependency fails (MIMIC_STRICT=1)

test-unit: ## unit and store tests (SQLite and PostgreSQL)
	MIMIC_STRICT=1 go test -count=1 -timeout 30m ./...

test-compat: ## the real Azure SDK for Go against a real `mimic up`
	cd test/compat && MIMIC_STRICT=1 go test -count=1 -timeout 45m ./...

test-bench: ## the bench module's agreement tests: mimic vs OPA and Casbin on the same decisions and the same graphs
	cd bench && go test -count=1 -timeout 10m ./authz ./reach ./procstat ./tables

vet: ## go vet the three modules and check formatting
	@test -z "$$(gofmt -l cmd internal test authzkit analyzerkit bench)" || (gofmt -l cmd internal test authzkit analyzerkit bench; exit 1)
	go vet ./...
	cd test/compat && go vet ./...
	cd bench && go vet ./...

bench: ## benchmarks (see bench/README.md)
	go test -run '^$$' -bench . -benchtime 2s ./internal/...

bench-authz: ## authorization engine vs a map index, OPA and Casbin (bench module, ~4 min)
	cd bench && $(MAKE) bench-authz

.PHONY: bench-data
bench-data: ## data planes: Blob vs Azurite, Key Vault (bench module, ~4 min)
	cd bench && $(MAKE) bench-data

.PHONY: bench-reach
bench-reach: ## analyzer scale, and reachability vs OPA graph.reachable (bench module, ~6 min)
	cd bench && $(MAKE) bench-reach

fuzz: ## run each fuzz target for 30s
	go test ./internal/resourceid -run '^$$' -fuzz FuzzParse -fuzztime 30s
	go test ./internal/jwt -run '^$$' -fuzz FuzzParse -fuzztime 30s
	go test ./internal/authz -run '^$$' -fuzz FuzzMatch -fuzztime 30s
