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


#endif
