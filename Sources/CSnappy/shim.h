#ifndef PROMFERRY_CSNAPPY_SHIM_H
#define PROMFERRY_CSNAPPY_SHIM_H
#include <snappy-c.h>
#endif
