/*
 * Which instruction-set level this CPU runs: read once at import.
 *
 * x86-64 levels need the instructions and the OS saving their registers
 * (XGETBV): AVX2 = AVX + AVX2 + FMA + F16C with YMM state; AVX-512 = that
 * plus AVX-512 F/DQ/BW/VL with ZMM and opmask state.  Other architectures
 * have the baseline only (on AArch64 the baseline is NEON).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rectkern.h"

extern const rk_kernel_table rk_kernels_baseline;
#if defined(__x86_64__) || defined(_M_X64)
#  define RK_X86_64 1
extern const rk_kernel_table rk_kernels_avx2;
extern const rk_kernel_table rk_kernels_avx512;
#else
#  define RK_X86_64 0
#endif

static char rk_feature_text[160];

#if RK_X86_64
#  if defined(_MSC_VER)
#    include <immintrin.h>
#    include <intrin.h>
static void rk_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4])
{
    int r[4];
    __cpuidex(r, (int)leaf, (int)subleaf);
    for (int i = 0; i < 4; i++) {
        regs[i] = (unsigned)r[i];
    }
}
static uint64_t rk_xgetbv(void) { return (uint64_t)_xgetbv(0); }
#  else
#    include <cpuid.h>
static void rk_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4])
{
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
}
static uint64_t rk_xgetbv(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#  endif

#define RK_BIT(reg, n) (((reg) >> (n)) & 1u)

static int rk_detect_level(void)
{
    unsigned r1[4] = {0}, r7[4] = {0}, r0[4] = {0};
    uint64_t xcr0 = 0;
    int osxsave, avx, fma, f16c, avx2, f, dq, bw, vl, ymm, zmm, avx2_level, avx512_level;

    rk_cpuid(0, 0, r0);
    rk_cpuid(1, 0, r1);
    if (r0[0] >= 7) {
        rk_cpuid(7, 0, r7);
    }
    osxsave = RK_BIT(r1[2], 27);
    if (osxsave) {
        xcr0 = rk_xgetbv();
    }
    avx = RK_BIT(r1[2], 28);
    fma = RK_BIT(r1[2], 12);
    f16c = RK_BIT(r1[2], 29);
    avx2 = RK_BIT(r7[1], 5);
    f = RK_BIT(r7[1], 16);
    dq = RK_BIT(r7[1], 17);
    bw = RK_BIT(r7[1], 30);
    vl = RK_BIT(r7[1], 31);
    ymm = (xcr0 & 0x6u) == 0x6u;             /* XMM and YMM state */
    zmm = (xcr0 & 0xe6u) == 0xe6u;           /* and opmask, ZMM_Hi256, Hi16_ZMM */
    snprintf(rk_feature_text, sizeof rk_feature_text,
             "SSE2+ AVX%c FMA%c F16C%c AVX2%c AVX512F%c AVX512DQ%c AVX512BW%c "
             "AVX512VL%c OS-YMM%c OS-ZMM%c",
             avx ? '+' : '-', fma ? '+' : '-', f16c ? '+' : '-', avx2 ? '+' : '-',
             f ? '+' : '-', dq ? '+' : '-', bw ? '+' : '-', vl ? '+' : '-',
             ymm ? '+' : '-', zmm ? '+' : '-');
    avx2_level = osxsave && ymm && avx && fma && f16c && avx2;
    avx512_level = avx2_level && zmm && f && dq && bw && vl;
    return avx512_level ? RK_LEVEL_AVX512 : avx2_level ? RK_LEVEL_AVX2 : RK_LEVEL_BASELINE;
}
#else
static int rk_detect_level(void)
{
#  if defined(__aarch64__) || defined(_M_ARM64)
    snprintf(rk_feature_text, sizeof rk_feature_text, "NEON+");
#  else
    snprintf(rk_feature_text, sizeof rk_feature_text, "(no feature detection)");
#  endif
    return RK_LEVEL_BASELINE;
}
#endif

static int rk_level = -1;

int rk_cpu_level(void)
{
    if (rk_level < 0) {
        rk_level = rk_detect_level();
    }
    return rk_level;
}

const char *rk_cpu_features(void)
{
    rk_cpu_level();
    return rk_feature_text;
}

const rk_kernel_table *rk_kernels_for_level(int level)
{
    switch (level) {
    case RK_LEVEL_BASELINE: return &rk_kernels_baseline;
#if RK_X86_64
    case RK_LEVEL_AVX2: return &rk_kernels_avx2;
    case RK_LEVEL_AVX512: return &rk_kernels_avx512;
#endif
    default: return NULL;
    }
}

const char *rk_level_name(int level)
{
    static const char *names[RK_NUM_LEVELS] = {"baseline", "avx2", "avx512"};
    return level >= 0 && level < RK_NUM_LEVELS ? names[level] : "unknown";
}

#define RK_STR_(x) #x
#define RK_STR(x) RK_STR_(x)

const char *rk_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "MSVC " RK_STR(_MSC_FULL_VER);
#else
    return "unknown C compiler";
#endif
}

#ifdef RK_HAVE_BUILD_INFO
#  include "rk_build_info.h"            /* written by setup.py */
#endif

const char *rk_build_flags(int level)
{
#ifdef RK_BUILD_LEVEL_FLAGS
    static const char *flags[] = RK_BUILD_LEVEL_FLAGS;
    if (rk_kernels_for_level(level) != NULL) {
        return flags[level];
    }
#endif
    (void)level;
    return "";
}
