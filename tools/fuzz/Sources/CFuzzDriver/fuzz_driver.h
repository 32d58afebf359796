// libFuzzer's driver entry (compiler-rt FuzzerInterface.h): runs the fuzzing loop of `callback` with libFuzzer's
// command-line flags. SwiftPM links executables with `main` defined as `<module>_main`, so libFuzzer's own main
// is not linked; each target's `<module>_main` calls this instead.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
