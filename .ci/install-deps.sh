#!/bin/sh
# Installs the external tools the test harness runs (Debian/Ubuntu packages), only when one
# is missing: docker-registry (distribution 2.8), skopeo, umoci, openssl; podman (tests
# `podman load` of saved archives); zstd, xz, bzip2 (compressed archives and layers in tests).
# bcrypt for htpasswd files is computed in test code, so apache2-utils is not needed.
set -eu

missing=""
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci openssl:openssl podman:podman zstd:zstd xz:xz-utils bzip2:bzip2; do
  command_name=${pair%%:*}
  package=${pair#*:}
  if ! command -v "$command_name" >/dev/null 2>&1; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing:$missing; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
