/*
 * The instruction-set level this translation unit is compiled for.
 *
 * kernels.c is compiled once per level, with -DRK_ISA_LEVEL=<n> and that
 * level's compiler flags (setup.py); everything in it is static but the
 * one kernel table it exports, named after the level.
 */
#ifndef RK_ISA_H
#define RK_ISA_H

#include "rectkern.h"

#ifndef RK_ISA_LEVEL
#  define RK_ISA_LEVEL RK_LEVEL_BASELINE
#endif

#if RK_ISA_LEVEL == RK_LEVEL_AVX512
#  define RK_ISA_NAME avx512
#elif RK_ISA_LEVEL == RK_LEVEL_AVX2
#  define RK_ISA_NAME avx2
#else
#  define RK_ISA_NAME baseline
#endif

/*
 * binary16 in hardware: F16C on x86-64 (the AVX2 and AVX-512 levels) and
 * every AArch64 CPU convert vectors of halves, and the compiler vectorises
 * _Float16 <-> float casts there.  Elsewhere (x86-64 baseline, MSVC, which
 * has no _Float16) the software conversions of rk_dtypes.h are used.
 */
#if defined(__FLT16_MAX__) && (defined(__F16C__) || defined(__aarch64__))
#  define RK_NATIVE_HALF 1
#  define RK_HALF_CONVERSION "hardware"
/* _Float16 is an extension to C99 (ISO/IEC TS 18661-3) */
__extension__ typedef _Float16 rk_native_half;
#else
#  define RK_NATIVE_HALF 0
#  define RK_HALF_CONVERSION "software"
#endif

#endif
