// libpng's simplified API catches its own longjmp internally (png_safe_execute), and keeping
// even that inside C means no Swift frame can ever sit between a setjmp and its longjmp.
#include "png_shim.h"
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

static void copy_message(const char *from, char *to, size_t capacity) {
    if (to == NULL || capacity == 0) return;
    snprintf(to, capacity, "%s", from ? from : "unknown libpng error");
}

static png_uint_32 format_for_channels(int channels) {
    switch (channels) {
    case 1: return PNG_FORMAT_GRAY;
    case 3: return PNG_FORMAT_RGB;
    case 4: return PNG_FORMAT_RGBA;
    default: return 0xffffffffu;
    }
}

int akin_png_size(const uint8_t *data, size_t size, int *width, int *height,
                  char *message, size_t message_capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        copy_message(image.message, message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    *width = (int)image.width;
    *height = (int)image.height;
    png_image_free(&image);
    return 0;
}

int akin_png_decode(const uint8_t *data, size_t size, int channels, uint64_t max_pixels,
                    uint8_t **pixels, int *width, int *height,
                    char *message, size_t message_capacity) {
    *pixels = NULL;
    png_uint_32 format = format_for_channels(channels);
    if (format == 0xffffffffu || channels == 4) {
        copy_message("channels must be 1 or 3", message, message_capacity);
        return 1;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        copy_message(image.message, message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    // The simplified API takes 16-bit samples without gamma information as linear light and would
    // gamma-encode them on the way to 8 bits (32768 → 188). Image tools treat them as sRGB like
    // 8-bit ones (32768 → 128); this flag asks for that, and keeps white-background compositing.
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    image.format = format;
    // The header's size, checked before a buffer exists: a few bytes may claim gigapixels.
    *width = (int)image.width;
    *height = (int)image.height;
    if ((uint64_t)image.width * (uint64_t)image.height > max_pixels) {
        copy_message("too many pixels", message, message_capacity);
        png_image_free(&image);
        return 2;
    }
    size_t stride = (size_t)image.width * (size_t)channels;
    size_t bytes = stride * (size_t)image.height;
    if (image.width == 0 || image.height == 0 || bytes / stride != image.height) {
        copy_message("image has no pixels or is too large", message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    uint8_t *buffer = malloc(bytes);
    if (buffer == NULL) {
        copy_message("out of memory", message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&image, &white, buffer, (png_int_32)stride, NULL)) {
        copy_message(image.message, message, message_capacity);
        free(buffer);
        png_image_free(&image);
        return 1;
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    png_image_free(&image);
    return 0;
}

int akin_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    uint8_t **png, size_t *png_size,
                    char *message, size_t message_capacity) {
    *png = NULL;
    *png_size = 0;
    png_uint_32 format = format_for_channels(channels);
    if (format == 0xffffffffu || width <= 0 || height <= 0) {
        copy_message("channels must be 1, 3 or 4 and the size positive", message, message_capacity);
        return 1;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = format;
    png_alloc_size_t size = 0;
    png_int_32 stride = width * channels;
    // First call measures, second writes.
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, stride, NULL)) {
        copy_message(image.message, message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    uint8_t *buffer = malloc(size);
    if (buffer == NULL) {
        copy_message("out of memory", message, message_capacity);
        png_image_free(&image);
        return 1;
    }
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, stride, NULL)) {
        copy_message(image.message, message, message_capacity);
        free(buffer);
        png_image_free(&image);
        return 1;
    }
    *png = buffer;
    *png_size = size;
    png_image_free(&image);
    return 0;
}
