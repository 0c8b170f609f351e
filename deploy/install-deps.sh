#!/usr/bin/env bash
# Installs the Debian 12 packages Codebook builds and runs with, if any is missing.
# Needs root (or sudo). Safe to run again: does nothing when everything is installed.
set -euo pipefail
packages=(build-essential cmake pkg-config
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
          librocksdb-dev libabsl-dev libgtest-dev libgmock-dev zlib1g-dev libssl-dev
          libzip-dev libpugixml-dev libre2-dev nlohmann-json3-dev libcpp-httplib-dev openssl
          clang libclang-rt-14-dev python3 python3-grpcio python3-protobuf python3-yaml nodejs
          chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm: Debian's package, unless Node.js came with its own (NodeSource's nodejs bundles npm).
command -v npm > /dev/null || missing+=(npm)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "dependencies: all installed"
  exit 0
fi
echo "dependencies: installing ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
