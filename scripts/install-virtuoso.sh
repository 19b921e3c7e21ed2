#!/usr/bin/env bash
# Install OpenLink Virtuoso (server binary + isql) for the external-SPARQL-server tests.
#
# Only the Debian package virtuoso-opensource-7-bin is installed: it ships
# /usr/bin/virtuoso-t and /usr/bin/isql-vt and needs nothing else to run a
# server from a virtuoso.ini written by tests/virtuoso.py. The metapackage
# virtuoso-opensource is deliberately avoided (it starts a system service and
# asks debconf questions).
#
# Does nothing when virtuoso-t is already present. Without root or apt-get it
# prints a warning and exits 0: the tests marked virtuoso then fail with
# a message saying so (deselect them with -m "not virtuoso").
set -euo pipefail

if command -v virtuoso-t >/dev/null 2>&1 || [ -x /usr/bin/virtuoso-t ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-virtuoso.sh: virtuoso-t not found and cannot apt-get install it (need root and apt-get); run the tests with -m 'not virtuoso'" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -qq -o Dpkg::Use-Pty=0 --no-install-recommends)

if ! apt-get install "${apt_opts[@]}" virtuoso-opensource-7-bin >/dev/null 2>&1; then
  # Package lists missing or stale: refresh once and retry.
  apt-get update -qq >/dev/null
  apt-get install "${apt_opts[@]}" virtuoso-opensource-7-bin >/dev/null
fi

if ! [ -x /usr/bin/virtuoso-t ]; then
  echo "install-virtuoso.sh: virtuoso-opensource-7-bin installed but /usr/bin/virtuoso-t is missing" >&2
  exit 1
fi
