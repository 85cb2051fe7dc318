#include "snappy_version.h"
#include <snappy-stubs-public.h>

#define PROMFERRY_STRING(x) #x
#define PROMFERRY_VERSION_STRING(major, minor, patch) PROMFERRY_STRING(major) "." PROMFERRY_STRING(minor) "." PROMFERRY_STRING(patch)

extern "C" const char *promferry_snappy_version(void) {
    return PROMFERRY_VERSION_STRING(SNAPPY_MAJOR, SNAPPY_MINOR, SNAPPY_PATCHLEVEL);
}
