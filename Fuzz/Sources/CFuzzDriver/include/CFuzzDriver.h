#ifndef LAMBDA_XDS_CFUZZDRIVER_H
#define LAMBDA_XDS_CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (libclang_rt.fuzzer): runs the fuzzing loop with these arguments.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
