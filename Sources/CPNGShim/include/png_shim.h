#ifndef AKIN_PNG_SHIM_H
#define AKIN_PNG_SHIM_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a PNG held in memory into 8-bit pixels with `channels` (1 = gray, 3 = RGB) per pixel.
/// Any colour type and bit depth (palette, gray+alpha, RGBA, 16-bit) is converted by libpng;
/// alpha is composited onto a white background. Returns 0 on success; on failure returns
/// non-zero and writes libpng's reason into `message`: 2 when the header's width × height passes
/// `max_pixels` (checked before any buffer is allocated; `*width` and `*height` are then set).
/// The caller frees `*pixels` with free().
int akin_png_decode(const uint8_t *data, size_t size, int channels, uint64_t max_pixels,
                    uint8_t **pixels, int *width, int *height,
                    char *message, size_t message_capacity);

/// Reads only the header: width and height. Returns 0 on success.
int akin_png_size(const uint8_t *data, size_t size, int *width, int *height,
                  char *message, size_t message_capacity);

/// Encodes 8-bit pixels (`channels` = 1, 3 or 4) as a PNG in memory. The caller frees `*png` with free().
int akin_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    uint8_t **png, size_t *png_size,
                    char *message, size_t message_capacity);

#endif
