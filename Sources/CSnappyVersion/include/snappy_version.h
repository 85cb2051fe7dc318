#ifndef PROMFERRY_SNAPPY_VERSION_H
#define PROMFERRY_SNAPPY_VERSION_H
#ifdef __cplusplus
extern "C" {
#endif
/// The version of the snappy headers this was compiled against ("1.1.9"). snappy's C API has no
/// version call; its C++ header carries the numbers.
const char *promferry_snappy_version(void);
#ifdef __cplusplus
}
#endif
#endif
