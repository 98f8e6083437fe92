#!/bin/sh
# Regenerates the Swift code of the protobuf messages Akin writes and reads, from protos/:
#   protos/tensorboard/*.proto → Sources/Reports/TensorBoard/Generated (TensorBoard's event files)
#   protos/onnx/onnx.proto     → Sources/Networks/ONNX/Generated (ONNX models, export and import)
# Both trimmed from upstream with upstream's field numbers.
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

generate() {
    # Internal: only the module that holds them uses these types.
    out="$root/$1"; shift
    mkdir -p "$out"
    rm -f "$out"/*.pb.swift
    "$protoc" --plugin=protoc-gen-swift="$plugin" \
        --proto_path="$root/protos" \
        --swift_opt=Visibility=Internal \
        --swift_opt=FileNaming=DropPath \
        --swift_out="$out" \
        "$@"
    echo "generated in $out: $(cd "$out" && ls *.pb.swift | tr '\n' ' ')"
}
generate Sources/Reports/TensorBoard/Generated "$root"/protos/tensorboard/*.proto
generate Sources/Networks/ONNX/Generated "$root"/protos/onnx/onnx.proto
