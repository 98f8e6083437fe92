#!/bin/sh
# Regenerates Sources/Reports/TensorBoard/Generated/*.pb.swift from protos/tensorboard/*.proto
# (TensorBoard's event-file messages, trimmed to what Akin writes).
#
# Needs Debian's protoc (apt-get install protobuf-compiler) and protoc-gen-swift built from the
# swift-protobuf that Package.swift depends on; the script builds that plugin once (several
# minutes) in the package's checkout. Run from anywhere:  sh scripts/generate_protos.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

protoc=${PROTOC:-/usr/bin/protoc}
[ -x "$protoc" ] || { echo "no protoc at $protoc: apt-get install protobuf-compiler (or set PROTOC)" >&2; exit 1; }

checkout="$root/.build/checkouts/swift-protobuf"
[ -d "$checkout" ] || swift package resolve
plugin="$checkout/.build/debug/protoc-gen-swift"
if [ ! -x "$plugin" ]; then
    echo "building protoc-gen-swift in $checkout (once; several minutes)" >&2
    (cd "$checkout" && nice -n 10 swift build -j 1 --product protoc-gen-swift)
fi

out="$root/Sources/Reports/TensorBoard/Generated"
mkdir -p "$out"
rm -f "$out"/*.pb.swift
# Internal: only the Reports module's EventFileWriter uses these types.
"$protoc" --plugin=protoc-gen-swift="$plugin" \
    --proto_path="$root/protos" \
    --swift_opt=Visibility=Internal \
    --swift_opt=FileNaming=DropPath \
    --swift_out="$out" \
    "$root"/protos/tensorboard/*.proto
echo "generated: $(cd "$out" && ls *.pb.swift | tr '\n' ' ')"
