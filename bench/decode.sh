#!/usr/bin/env bash
# JPEG decoding for embedding: whole, or at libjpeg-turbo's smallest DCT scale that keeps the
# network's input size (what Akin does), beside Pillow doing the same (Image.draft) in one run.
# Photos: Debian's tuxpaint-data templates (1296 × 864 JPEGs), as they are and enlarged to 12 MP
# (4032 × 2688, quality 92) by Pillow.
#   bench/decode.sh     (AKIN_BENCH_SIZE=224; one thread; raw results to bench/results/decode-DATE.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
size=${AKIN_BENCH_SIZE:-224}
templates=/usr/share/tuxpaint/templates
[ -d "$templates" ] || { echo "needs Debian's tuxpaint-data (apt-get install tuxpaint-data)" >&2; exit 1; }
"$venv/bin/python" -c "import PIL" 2>/dev/null || "$venv/bin/pip" install -q pillow
nice -n 10 swift build -c release --product akin-bench >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos" "$work/large"
cp "$templates"/*.jpg "$work/photos/"
"$venv/bin/python" - "$work/photos" "$work/large" <<'PY'
import os, sys
from PIL import Image
for name in sorted(os.listdir(sys.argv[1])):
    image = Image.open(os.path.join(sys.argv[1], name)).convert("RGB")
    image.resize((4032, 2688), Image.BICUBIC).save(os.path.join(sys.argv[2], name), quality=92)
PY
mkdir -p bench/results
out=bench/results/decode-$(date +%Y%m%d-%H%M%S).jsonl
for set in photos large; do
  akin=$(OMP_NUM_THREADS=1 .build/release/akin-bench decode --folder "$work/$set" --size "$size")
  pillow=$("$venv/bin/python" - "$work/$set" "$size" <<'PY'
import json, os, sys, time
from PIL import Image
folder, size = sys.argv[1], int(sys.argv[2])
files = [os.path.join(folder, n) for n in sorted(os.listdir(folder))]
data = [open(f, "rb").read() for f in files]
import io
def run(draft):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for d in data:
            image = Image.open(io.BytesIO(d))
            if draft:
                image.draft("RGB", (size, size))
            image.convert("RGB").resize((size, size), Image.BILINEAR)
        best = min(best, time.perf_counter() - start)
    return len(files) / best
print(json.dumps({"full_images_per_s": run(False), "draft_images_per_s": run(True)}))
PY
)
  echo "{\"set\": \"$set\", \"akin\": $akin, \"pillow\": $pillow}" | tee -a "$out"
done
"$venv/bin/python" - "$out" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); a, p = r["akin"], r["pillow"]
    print(f"{r['set']} ({a['width']}×{a['height']}, {a['images']} JPEGs to {a['size']}): Akin whole {a['full_images_per_s']:.0f}/s, "
          f"scaled {a['scaled_images_per_s']:.0f}/s ({a['speedup']:.1f}×, mean pixel difference {a['mean_abs_pixel_difference']:.2f} of 255); "
          f"Pillow whole {p['full_images_per_s']:.0f}/s, draft {p['draft_images_per_s']:.0f}/s; "
          f"Akin scaled / Pillow draft: {a['scaled_images_per_s'] / p['draft_images_per_s']:.2f}×")
PY
