// libFuzzer's entry for a program that has its own main: `-sanitize=fuzzer` links the runtime
// that defines it (clang's FuzzerInterface.h declares the same; nothing is linked from here).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
