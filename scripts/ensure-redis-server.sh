#!/usr/bin/env bash
# The example third-party adapter keeps its storage in Redis, and its tests start their own
# redis-server. Make sure the binary is there before `npm test`: install Debian's package where
# that is possible (root with apt-get, as on CI), and otherwise say exactly what is missing.
set -euo pipefail

command -v redis-server > /dev/null && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get > /dev/null; then
  echo "redis-server is not installed; installing Debian's package for the Redis adapter's tests..." >&2
  apt-get update -qq
  apt-get install -y -qq redis-server > /dev/null
  exit 0
fi

echo "The Redis adapter's tests need redis-server. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) and run the tests again." >&2
exit 1
