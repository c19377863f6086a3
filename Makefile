# Build, lint and test Sunomi. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# Targets chain deps → lint → test; go parallelises inside each step.
.NOTPARALLEL:
.DEFAULT_GOAL := build

GO          ?= go
BIN         := bin/sunomi
STATICCHECK := .cache/bin/staticcheck
# Go files, skipping build outputs, the tool cache and node_modules.
GOFILES_CMD := find . -name '*.go' -not -path './.git/*' -not -path './.cache/*' \
               -not -path './out/*' -not -path './bin/*' -not -path '*/node_modules/*'
# The project's Go packages. `./...` alone would take in npm packages that ship Go sources
# (flatted, an ESLint dependency, has a Go port under web/node_modules).
GOPKGS = $$($(GO) list ./... | grep -v /node_modules/)

DEMO_DIR := out/demo
DEMO_SRC := $(DEMO_DIR)/source.mp4
DEMO_HLS := $(DEMO_DIR)/hls

.PHONY: deps web web-test web-lint e2e build generate lint test test-short dev demo bench-transcode bench-farm bench-api bench-codecs bench-playable clean

deps:
	@scripts/deps.sh

# The web app (web/): installs its npm packages, generates the API client from api/openapi.yaml,
# typechecks and builds into web/dist, which package web embeds into the binaries.
web:
	cd web && npm ci --no-audit --no-fund && npm run build

web-test:
	cd web && npm test

# ESLint (typescript-eslint, rules of hooks, jsx-a11y) and Prettier over the web app; needs the
# packages `make web` installs. `cd web && npm run format` rewrites what Prettier would change.
web-lint:
	@echo '==> web: eslint'
	@cd web && npm run --silent lint
	@echo '==> web: prettier'
	@cd web && npm run --silent format:check

# The browser end-to-end test: `sunomi dev` driven through Debian's chromium by playwright-core.
e2e: web build
	cd web && BIN=$(CURDIR)/$(BIN) npm run e2e

build: web
	$(GO) build -o $(BIN) ./cmd/sunomi
	$(GO) build -o bin/api ./cmd/api

# Regenerates the API server types from api/openapi.yaml (oapi-codegen, pinned as a go tool).
generate:
	$(GO) generate ./api/...

lint: | $(STATICCHECK)
	@echo '==> gofmt'
	@files="$$($(GOFILES_CMD) -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$files" ]; then \
		echo 'gofmt: these files need formatting (run gofmt -w on them):'; \
		sed 's/^/  /' <<<"$$files"; \
		exit 1; \
	fi
	@echo '==> go vet'
	@$(GO) vet $(GOPKGS)
	@echo '==> staticcheck'
	@$(STATICCHECK) $(GOPKGS)

test: deps lint build web-lint
	@echo '==> go test -count=1 -timeout 30m ./...'
	@$(GO) test -count=1 -timeout 30m $(GOPKGS)
	@echo '==> web: vitest'
	@cd web && npm test
	@echo '==> web: end-to-end in chromium against sunomi dev'
	@cd web && BIN=$(CURDIR)/$(BIN) npm run e2e

test-short:
	$(GO) test -short $(GOPKGS)

# The whole platform in one process — PostgreSQL (DATABASE_URL, else a private cluster in
# .sunomi/postgres), a coordinator, agents and the API — kept in .sunomi/; open the URL it prints.
dev: deps build
	@$(BIN) dev

# Transcodes a generated 20 s clip on this machine with `sunomi transcode` (no farm, no API) and
# says how to play it; out/demo/source.mp4 is also a handy upload for `make dev`.
demo: deps build
	@if [ ! -f $(DEMO_SRC) ]; then \
		echo '==> generating $(DEMO_SRC) (20 s, 1280x720, testsrc2 + sine)'; \
		mkdir -p $(DEMO_DIR); \
		ffmpeg -hide_banner -nostdin -loglevel error -y \
			-f lavfi -i testsrc2=size=1280x720:rate=30:duration=20 \
			-f lavfi -i sine=frequency=440:beep_factor=4:sample_rate=48000:duration=20 \
			-c:v libx264 -preset veryfast -pix_fmt yuv420p \
			-c:a aac -b:a 128k -ac 2 \
			$(DEMO_DIR)/.source.tmp.mp4; \
		mv $(DEMO_DIR)/.source.tmp.mp4 $(DEMO_SRC); \
	fi
	@echo '==> $(BIN) transcode $(DEMO_SRC) -o $(DEMO_HLS)'
	@$(BIN) transcode $(DEMO_SRC) -o $(DEMO_HLS)
	@echo
	@echo 'HLS master playlist: $(DEMO_HLS)/master.m3u8'
	@echo 'Play it locally:     ffplay $(DEMO_HLS)/master.m3u8'
	@echo 'Or serve it:         python3 -m http.server -d $(DEMO_HLS) 8000'
	@echo '  and open http://localhost:8000/master.m3u8 in VLC or an HLS-capable browser (Safari, or hls.js)'

bench-transcode: deps
	$(GO) test -run '^$$' -bench BenchmarkTranscodeVsFFmpeg -benchtime 1x -timeout 60m ./pipeline/

# The farm's benchmarks, time to playable among them (issue 16: 30 s, 2 min and 20 min 1080p sources,
# an hour or more on 2 cores; the public clock through the API in ./api/).
# SUNOMI_BENCH_PLAYABLE_LENGTHS (seconds or durations, default 30,120,1200),
# SUNOMI_BENCH_PLAYABLE_RUNS (default 5) and SUNOMI_BENCH_PLAYABLE_FULL_RUNS (runs that go to the
# job's end; default all up to 2 min, the first beyond) shape it, and SUNOMI_BENCH_PLAYABLE_BEFORE=f218ffe
# runs every job on that revision's farm too, alternating, for total job times compared under the same
# load (twice as long); `make bench-playable` runs only the time-to-playable benchmarks.
# -p 1: one package's benchmarks at a time, or two farms would share the CPUs.
bench-farm: deps
	$(GO) test -run '^$$' -bench 'BenchmarkFarm|BenchmarkSchedulerSimulation|BenchmarkSchedulerRetention' -benchtime 1x -p 1 -timeout 240m ./cluster/ ./scheduler/ ./api/

bench-playable: deps
	$(GO) test -run '^$$' -bench 'BenchmarkFarmTimeToPlayable|BenchmarkFarmPublicPlayable' -benchtime 1x -p 1 -timeout 240m ./cluster/ ./api/

# AV1 (SVT-AV1) against H.264 (x264 as the pipeline runs it) through the encode task: three
# generated 1080p30 sources (grain, motion, flat animation), 720p and 1080p rungs, four CRFs per
# codec; prints bit rate, PSNR, SSIM, CPU seconds per media second and the Bjøntegaard delta rate
# at equal PSNR and SSIM. BENCH_CODECS_SECONDS (default 2) sets the clips' length,
# BENCH_CODECS_AV1_PRESETS (default 8; 8,10 compares) the SVT-AV1 presets. Not part of `make test`.
bench-codecs: deps
	$(GO) test -run '^$$' -bench BenchmarkCodecs -benchtime 1x -timeout 60m ./bench/codecs/

# wrk against the API's list and one video on 10,000 seeded videos, beside pgbench -S on the same
# PostgreSQL server; then search on 100,000 and 1,000,000 videos, seven kinds of query, beside
# the SQL's time with every match scored. BENCH_DURATION (default 10s) sets each run's length,
# BENCH_SEARCH_VIDEOS (comma-separated) the search's sizes. PostgreSQL gets 2 GB of shared
# buffers, as a server for a million videos would (their table and indexes fit; the default
# 128 MB would measure copying pages from the kernel's cache).
bench-api: deps
	PGTEST_SHARED_BUFFERS=2GB $(GO) test -run '^$$' -bench 'BenchmarkAPI|BenchmarkSearch' -benchtime 1x -timeout 90m ./api/

# lint installs staticcheck when it is missing; `make deps` also replaces a wrong version.
$(STATICCHECK):
	@scripts/deps.sh

clean:
	rm -rf bin out
