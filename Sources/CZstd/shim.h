#ifndef PROMFERRY_CZSTD_SHIM_H
#define PROMFERRY_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
