GO       ?= go
PYTHON   ?= python3
RUN_DATE ?= $(shell date -u +%F)
SAMPLE   ?= tmp/sample
OUT      ?= out

.PHONY: run build test test-bigquery bench clean

build:
	$(GO) build -o bin/retain ./cmd/retain

## run: build, make the sample shop if missing, run the nightly job on it
run: build
	@test -f $(SAMPLE)/fx_rates.csv || bin/retain gen --customers 20000 --out $(SAMPLE) --end-date $(RUN_DATE)
	bin/retain run --job jobs/nightly.yaml --run-date $(RUN_DATE) --output $(OUT)
	@echo; echo "segment_summary, all customers:"
	@bin/retain show --output $(OUT) --run-date $(RUN_DATE) --table segment_summary --where dimension=total \
		--columns rfm_segment,customers,customer_share,revenue,revenue_share,avg_order_value,avg_orders,avg_days_since_last_order
	@echo
	@echo "tables: $(OUT)/<table>/snapshot_date=$(RUN_DATE)/part-00000.parquet; manifest: $(OUT)/_runs/snapshot_date=$(RUN_DATE)/_manifest.json"
	@echo "report: $(OUT)/report/snapshot_date=$(RUN_DATE)/report.html"

## test: vet, every test under the race detector (whole-job shops scaled down), the whole-job tests at full size, the BTYD
## coverage studies (skipped under the race detector), then DuckDB
## reading the output (types, and SQL cross-checks on CDNOW)
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...
	$(GO) test -timeout 30m ./e2e/
	$(GO) test -run 'Coverage|MasterVsSample' ./btyd/
	$(PYTHON) scripts/check_dag.py
	bash scripts/duckdb/run.sh

## test-bigquery: the BigQuery source and sink SQL against goccy/bigquery-emulator, a
## module of its own (first build about 6 minutes and 6 GB; cached afterwards)
test-bigquery:
	cd warehouse/emulatortest && $(GO) vet ./... && $(GO) test -count=1 -timeout 20m ./...

## bench: the job on 1M and 2M generated customers (10.6M and 21.2M orders), the
## orders-only job beside DuckDB SQL, the 1M job with and without change tracking
## (segments.change_tracking), the GC share, the BTYD fits on 1M customers and the
## Parquet library comparison, then a summary table of the figures (README, Performance).
## BENCH_RUNS runs of each job, median reported; shops are generated once into tmp/.
BENCH_RUNS     ?= 3
BTYD_BENCHTIME ?= 3x
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -c
bench: build
	mkdir -p tmp/bench
	BENCH_RUNS=$(BENCH_RUNS) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 180m ./bench/job/ | tee tmp/bench/job.txt
	$(GO) test -run '^$$' -bench . -benchtime $(BTYD_BENCHTIME) -timeout 60m ./btyd/ | tee tmp/bench/btyd.txt
	cd bench/parquetlibs && $(GO) test -run '^$$' -bench . -benchtime 3x -benchmem | tee ../../tmp/bench/parquetlibs.txt
	$(GO) run ./bench/summary tmp/bench/job.txt tmp/bench/btyd.txt tmp/bench/parquetlibs.txt

clean:
	rm -rf bin tmp out
