#!/usr/bin/env bash
# Fetches nats-server 2.10 (the auth callout, ADR-26, needs >= 2.10; Debian 12 ships 2.9.10) from Debian 13's
# archive into a cache folder, without touching the system's packages or apt state: a private apt state folder
# with one sources entry for the trixie suite, `apt-get download`, then `dpkg-deb -x`. Prints the binary's path.
# Usage: scripts/fetch-nats-server.sh [cache-dir]   (default: ${XDG_CACHE_HOME:-~/.cache}/nest-jwt-issuer)
set -euo pipefail
VERSION="${NATS_SERVER_DEB_VERSION:-2.10.27-1+b2}"
CACHE="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/nest-jwt-issuer}"
DEST="$CACHE/nats-server-${VERSION%%-*}"
BIN="$DEST/usr/sbin/nats-server"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$CACHE"
STATE="$(mktemp -d "$CACHE/apt-state.XXXXXX")"
trap 'rm -rf "$STATE"' EXIT
mkdir -p "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/etc/preferences.d" "$STATE/etc/apt.conf.d"
# The same archive as the system's Debian 12 sources, suite trixie.
URI="$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | grep -v security | head -n1 | awk '{print $2}' || true)"
URI="${URI:-http://deb.debian.org/debian}"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$URI" >"$STATE/sources.list"
APT=(-o "Dir::Etc::SourceList=$STATE/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::Etc::Preferences=$STATE/etc/preferences" -o "Dir::Etc::PreferencesParts=$STATE/etc/preferences.d"
  -o "Dir::State::Lists=$STATE/lists" -o "Dir::Cache=$STATE/cache" -o "Dir::State::status=/var/lib/dpkg/status"
  -o "APT::Architecture=$(dpkg --print-architecture)" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
apt-get "${APT[@]}" update -qq >&2
( cd "$STATE" && apt-get "${APT[@]}" download "nats-server=$VERSION" >&2 )
mkdir -p "$DEST.partial"
dpkg-deb -x "$STATE"/nats-server_*.deb "$DEST.partial"
rm -rf "$DEST" && mv "$DEST.partial" "$DEST"
"$BIN" --version >&2
echo "$BIN"
