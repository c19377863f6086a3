#!/usr/bin/env bash
# Installs what building and testing Sunomi needs: Debian packages (libav*-dev for cgo,
# the ffmpeg/ffprobe CLIs as test references) and pinned Go tools under .cache/bin.
# Idempotent and fast when everything is present: apt-get runs only when a package is
# missing, and Go tools are rebuilt only when missing or at the wrong version.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# Debian packages. Append new ones here (postgresql, chromium, ...); one list, one apt-get run.
apt_packages=(
	libavcodec-dev
	libavformat-dev
	libavfilter-dev
	libavutil-dev
	libswscale-dev
	libswresample-dev
	iproute2
	libavdevice-dev
	pkg-config
	ffmpeg
	# initdb and postgres for internal/pgtest and the private cluster of `sunomi dev`.
	postgresql
	# the load generator of `make bench-api`.
	wrk
	# the browser of the web app's end-to-end test (driven by playwright-core; never a download).
	chromium
	# GStreamer plays the ladders in pipeline's player test (hlsdemux, dashdemux, libav decoders).
	gstreamer1.0-tools
	gstreamer1.0-plugins-base
	gstreamer1.0-plugins-good
	gstreamer1.0-plugins-bad
	gstreamer1.0-libav
)

# Go tools: "binary|module path@version|expected substring of '<binary> -version'".
staticcheck_version=v0.7.0
go_tools=(
	"staticcheck|honnef.co/go/tools/cmd/staticcheck@${staticcheck_version}|(${staticcheck_version})"
)

gobin="$repo/.cache/bin"

log() { printf 'deps: %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)" = "ii " ]
}

missing=()
for p in "${apt_packages[@]}"; do
	if ! installed "$p"; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	log "debian packages present (${#apt_packages[@]})"
else
	log "installing debian packages: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
	log "go not found on PATH (need Go $(sed -n 's/^go //p' go.mod))" >&2
	exit 1
fi

# The web app builds with the machine's Node.js (Vite needs 20.19 or later) and npm.
if ! command -v npm >/dev/null 2>&1; then
	log "node and npm not found on PATH (the web app needs Node.js 20.19 or later)" >&2
	exit 1
fi

mkdir -p "$gobin"
for t in "${go_tools[@]}"; do
	IFS='|' read -r name pkg want <<<"$t"
	if [ -x "$gobin/$name" ] && "$gobin/$name" -version 2>/dev/null | grep -qF -- "$want"; then
		log "$name present (${pkg##*@})"
		continue
	fi
	log "installing $pkg into .cache/bin"
	# go install refuses to overwrite a file it does not recognise as a Go binary.
	rm -f "$gobin/$name"
	GOBIN="$gobin" go install "$pkg"
done

log "all dependencies present"
