#!/usr/bin/env bash
# Regenerates src/sources/criu/gen/ from src/sources/criu/proto/*.proto (protoc + protoc-gen-es).
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/sources/criu/gen
rm -rf "$out"
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --proto_path=src/sources/criu/proto \
  --es_out="$out" \
  --es_opt=target=ts,import_extension=js \
  src/sources/criu/proto/*.proto
