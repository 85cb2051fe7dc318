#ifndef PROMFERRY_CZSTD_SHIM_H
#define PROMFERRY_CZSTD_SHIM_H
/* For ZSTD_c_useBlockSplitter (an advanced parameter, set through the stable ZSTD_CCtx_setParameter). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

/* Turns on the block splitter (ZSTD_c_useBlockSplitter, an advanced parameter whose name Swift cannot
   import, since it is a macro for ZSTD_c_experimentalParam13). Returns what ZSTD_CCtx_setParameter does. */
static inline size_t promferry_zstd_enable_block_splitter(ZSTD_CCtx *context) {
    return ZSTD_CCtx_setParameter(context, ZSTD_c_useBlockSplitter, ZSTD_ps_enable);
}
#endif
