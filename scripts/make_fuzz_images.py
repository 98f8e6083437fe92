"""The odd images of the image fuzzer's seed corpus (fuzz/seeds/image), which Akin's own encoder
does not write: progressive, CMYK, gray and 12-bit-declared JPEG; interlaced, palette (with and
without transparency), 1-bit, 16-bit and alpha PNG; a PNG named .jpg. Run by
`scripts/fuzz.sh seeds`; needs Pillow (bench/venv.sh)."""
import io
import struct
import sys
import zlib

from PIL import Image

out = sys.argv[1]


def picture(mode, size=(23, 17)):
    image = Image.new("RGB", size)
    image.putdata([((x * 37) % 256, (y * 53) % 256, ((x ^ y) * 29) % 256) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def save(name, image, **options):
    buffer = io.BytesIO()
    image.save(buffer, **options)
    data = buffer.getvalue()
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
    return data


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def interlaced_png(image):
    """Adam7, which Pillow reads but does not write: each pass's rows, filter byte 0."""
    width, height = image.size
    pixels = image.load()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = b"".join(bytes(pixels[x, y]) for x in range(x0, width, dx))
            if row:
                raw += b"\0" + row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


save("progressive.jpg", picture("RGB"), format="JPEG", progressive=True, quality=85)
save("cmyk.jpg", picture("CMYK"), format="JPEG", quality=85)
save("gray.jpg", picture("L"), format="JPEG", quality=85)
save("subsampled-420.jpg", picture("RGB", (33, 21)), format="JPEG", subsampling=2, quality=70)
# 12-bit samples: the frame header's precision byte set to 12 (SOF1), which Debian's 8-bit libjpeg-turbo refuses.
baseline = bytearray(save("baseline.jpg", picture("RGB"), format="JPEG", quality=85))
at = baseline.index(b"\xff\xc0")
baseline[at + 1] = 0xC1
baseline[at + 4] = 12
with open(f"{out}/precision12.jpg", "wb") as f:
    f.write(bytes(baseline))
with open(f"{out}/interlaced.png", "wb") as f:
    f.write(interlaced_png(picture("RGB")))
save("palette.png", picture("P"), format="PNG")
save("palette-transparent.png", picture("P"), format="PNG", transparency=3)
save("one-bit.png", picture("1"), format="PNG")
save("gray16.png", picture("I").convert("I;16"), format="PNG")
save("rgba.png", picture("RGBA"), format="PNG")
save("gray-alpha.png", picture("LA"), format="PNG")
save("png-named.jpg", picture("RGB"), format="PNG")
