#!/usr/bin/env bash
# Builds the library's DocC documentation (Sources/Akin/Akin.docc and the doc comments of the Akin
# module) into .build/docs, with warnings as errors. Open .build/docs/index.html through any static
# file server (python3 -m http.server -d .build/docs), or read the articles in Sources/Akin/Akin.docc.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package --allow-writing-to-directory .build/docs generate-documentation --target Akin \
  --warnings-as-errors --output-path .build/docs --transform-for-static-hosting
