/*
 * Maxout kernels for one (float dtype, index dtype) pair; see rectkern.h.
 * Included through rk_foreach_float.h -> rk_foreach_index.h (kernels.c).
 *
 * y is the winning element as stored (so -0.0 keeps its sign), idx its
 * offset inside the group.  float16 is compared as integer keys of its
 * stored bits (rk_half_key), never converted.  As in elementwise.tmpl.h,
 * each loop is an inline function called with constant unit strides on
 * contiguous rows, so that the compiler vectorises it.
 */
#define RK_FN(name) RK_CAT3(name, RK_SUF, RK_ISUF)
#define RK_ROW(name) RK_CAT(name, RK_SUF)         /* rows.tmpl.h, per float dtype */
#define RK_RAW(p, off) (*RK_CONST_AT(RK_STORE_T, p, off))
#define RK_IDX(p, off) (*RK_CONST_AT(RK_INDEX_T, p, off))
#define RK_ISIZE ((rk_intp)sizeof(RK_STORE_T))
#define RK_IDX_SIZE ((rk_intp)sizeof(RK_INDEX_T))

/* One group, members sm bytes apart: scan them in order, with selects
 * rather than branches (random data would mispredict them). */
RK_INLINE void RK_FN(maxout_group)(rk_intp k, const char *x, rk_intp sm,
                                   char *y, char *idx)
{
#if RK_IS_HALF      /* float16 keys (rk_half_key): no conversion */
#  define RK_GROUP_KEY(raw) rk_half_key(raw)
#  define RK_GROUP_BEATS(v, b) RK_HALF_BEATS(v, b)
    int16_t best = RK_GROUP_KEY(RK_RAW(x, 0));
#else
#  define RK_GROUP_KEY(raw) (raw)
#  define RK_GROUP_BEATS(v, b) RK_BEATS(v, b)
    RK_COMP_T best = RK_RAW(x, 0);
#endif
    rk_intp best_j = 0;
    for (rk_intp j = 1; j < k; j++) {
        const RK_STORE_T raw = RK_RAW(x, j * sm);
        int take = RK_GROUP_BEATS(RK_GROUP_KEY(raw), best);
        best = take ? RK_GROUP_KEY(raw) : best;
        best_j = take ? j : best_j;
    }
#undef RK_GROUP_KEY
#undef RK_GROUP_BEATS
    *(RK_STORE_T *)y = RK_RAW(x, best_j * sm);     /* as stored */
    *(RK_INDEX_T *)idx = (RK_INDEX_T)best_j;
}

/* idx for m positions of a row, from lanes. */
RK_INLINE void RK_FN(store_indices)(rk_intp m, const RK_LANE_T *RK_RESTRICT lanes,
                                    char *idx, rk_intp si)
{
    if (si == RK_IDX_SIZE) {
        for (rk_intp i = 0; i < m; i++) {
            ((RK_INDEX_T *)(void *)idx)[i] = (RK_INDEX_T)lanes[i];
        }
        return;
    }
    for (rk_intp i = 0; i < m; i++) {
        *RK_AT(RK_INDEX_T, idx, i * si) = (RK_INDEX_T)lanes[i];
    }
}

#if !RK_IS_HALF
/*
 * Groups of k = 2 or 4 side by side in memory (axis last, as NHWC).  A
 * group of 4 is a tournament of its two pairs, and every round compares
 * neighbours v[2i], v[2i+1], a shape the compiler vectorises.  The
 * tournament keeps maxout's rules: the second of a pair wins only if it
 * beats the first, so ties stay with the earlier member and the first
 * NaN wins.  The last round writes y and idx itself.
 */
RK_INLINE void RK_FN(maxout_small_groups_loop)(rk_intp n, int k, const char *x,
                                               char *y, char *idx, int prefetch)
{
    RK_COMP_T pair[RK_CHUNK / 2];
    RK_LANE_T pair_j[RK_CHUNK / 2];
    const rk_intp per_chunk = RK_CHUNK / k;
    for (rk_intp g0 = 0; g0 < n; g0 += per_chunk) {
        const rk_intp m = n - g0 < per_chunk ? n - g0 : per_chunk;
        const rk_intp n_pairs = m * k / 2;
        const RK_COMP_T *v = RK_CONST_AT(RK_COMP_T, x, g0 * k * RK_ISIZE);
        RK_STORE_T *yy = RK_AT(RK_STORE_T, y, g0 * RK_ISIZE);
        RK_INDEX_T *ii = RK_AT(RK_INDEX_T, idx, g0 * RK_IDX_SIZE);
        if (prefetch && k == 4 && (n - g0 - m) * k >= RK_CHUNK) {
            rk_prefetch_lines((const char *)v + RK_CHUNK * RK_ISIZE, RK_CHUNK * RK_ISIZE);
        }
        if (k == 2) {
            for (rk_intp i = 0; i < n_pairs; i++) {
                RK_COMP_T a = v[2 * i], b = v[2 * i + 1];
                int take = RK_BEATS(b, a);
                yy[i] = take ? b : a;
                ii[i] = (RK_INDEX_T)take;
            }
            continue;
        }
#ifdef RK_MAXOUT4_AVX2
        if (RK_IDX_SIZE == 1) {
            rk_intp g = RK_ISIZE == 4
                ? rk_avx2_maxout4_groups_f32(m, (const float *)(const void *)v,
                                             (float *)(void *)yy, (uint8_t *)(void *)ii)
                : rk_avx2_maxout4_groups_f64(m, (const double *)(const void *)v,
                                             (double *)(void *)yy, (uint8_t *)(void *)ii);
            for (; g < m; g++) {
                RK_FN(maxout_group)(4, (const char *)(v + 4 * g), RK_ISIZE,
                                    (char *)(yy + g), (char *)(ii + g));
            }
            continue;
        }
#endif
        for (rk_intp i = 0; i < n_pairs; i++) {
            RK_COMP_T a = v[2 * i], b = v[2 * i + 1];
            int take = RK_BEATS(b, a);
            pair[i] = take ? b : a;
            pair_j[i] = (RK_LANE_T)take;
        }
        for (rk_intp g = 0; g < m; g++) {
            RK_COMP_T a = pair[2 * g], b = pair[2 * g + 1];
            int take = RK_BEATS(b, a);
            yy[g] = take ? b : a;
            ii[g] = (RK_INDEX_T)(take ? pair_j[2 * g + 1] + 2 : pair_j[2 * g]);
        }
    }
}

/* Out of line, so that it is register-allocated apart from rk_maxout's
 * loops (inlined, float64 k=4 in cache took 1.15x-1.2x the time), with a
 * copy of the loop for each k. */
RK_NOINLINE void RK_FN(maxout_small_groups)(rk_intp n, int k, const char *x,
                                           char *y, char *idx, int prefetch)
{
    if (k == 2) {
        RK_FN(maxout_small_groups_loop)(n, 2, x, y, idx, prefetch);
    }
    else {
        RK_FN(maxout_small_groups_loop)(n, 4, x, y, idx, prefetch);
    }
}

/* k = 2 or 4, members contiguous rows sm bytes apart, contiguous outputs:
 * the rows in one pass (k = 4 as the tournament of maxout_small_groups),
 * a block of RK_PREFETCH_BLOCK bytes per row at a time, asking for the
 * same block of the rows of next (the next group, or NULL).  x, y and idx
 * are apart (the Python layer sees to it).
 *
 * Where the index is much narrower than the values (an eighth: float64
 * with uint8; at AVX2 a quarter too: float32 with uint8), idx goes through
 * lanes of the values' width and is stored after the block: a loop writing
 * it directly is vectorised at the index's width, so many values at a time
 * that their registers outnumber the machine's (AVX2 has half AVX-512's). */
#define RK_IDX_VIA_LANES \
    (sizeof(RK_LANE_T) >= (RK_ISA_LEVEL == RK_LEVEL_AVX2 ? 4 : 8) * sizeof(RK_INDEX_T))
RK_INLINE void RK_FN(maxout_rows_at_once)(rk_intp n, rk_intp k, const char *x, rk_intp sm,
                                          RK_STORE_T *RK_RESTRICT y,
                                          RK_INDEX_T *RK_RESTRICT idx, const char *next)
{
    const RK_COMP_T *RK_RESTRICT x0 = RK_CONST_AT(RK_COMP_T, x, 0);
    const RK_COMP_T *RK_RESTRICT x1 = RK_CONST_AT(RK_COMP_T, x, sm);
    const RK_COMP_T *RK_RESTRICT x2 = k == 4 ? RK_CONST_AT(RK_COMP_T, x, 2 * sm) : x1;
    const RK_COMP_T *RK_RESTRICT x3 = k == 4 ? RK_CONST_AT(RK_COMP_T, x, 3 * sm) : x1;
    const rk_intp block = RK_PREFETCH_BLOCK / RK_ISIZE;
    RK_LANE_T lanes[RK_PREFETCH_BLOCK / RK_ISIZE];
#define RK_PUT_INDEX(i, value)                                                     \
    do {                                                                           \
        if (RK_IDX_VIA_LANES) {                                                    \
            lanes[(i) - i0] = (RK_LANE_T)(value);                                  \
        }                                                                          \
        else {                                                                     \
            idx[i] = (RK_INDEX_T)(value);                                          \
        }                                                                          \
    } while (0)
    for (rk_intp i0 = 0; i0 < n; i0 += block) {
        const rk_intp i1 = n - i0 < block ? n : i0 + block;
        for (rk_intp j = 0; next && j < k; j++) {
            rk_prefetch_lines(next + j * sm + i0 * RK_ISIZE, (i1 - i0) * RK_ISIZE);
        }
        if (k == 2) {
            for (rk_intp i = i0; i < i1; i++) {
                RK_COMP_T a = x0[i], b = x1[i];
                int take = RK_BEATS(b, a);
                y[i] = take ? b : a;
                RK_PUT_INDEX(i, take);
            }
        }
        else {
            /* flags as wide as the values: int flags made gcc move float64
             * masks between widths (in cache 1.13x-1.15x the time) */
            for (rk_intp i = i0; i < i1; i++) {
                RK_COMP_T a = x0[i], b = x1[i], c = x2[i], d = x3[i];
                RK_LANE_T nan_a = RK_IS_NAN(a), nan_b = RK_IS_NAN(b);
                RK_LANE_T nan_c = RK_IS_NAN(c), nan_d = RK_IS_NAN(d);
                RK_LANE_T first = RK_BEATS_FLAGGED(b, a, nan_b, nan_a);
                RK_LANE_T second = RK_BEATS_FLAGGED(d, c, nan_d, nan_c);
                RK_COMP_T w1 = first ? b : a, w2 = second ? d : c;
                RK_LANE_T nan_w1 = first ? nan_b : nan_a, nan_w2 = second ? nan_d : nan_c;
                RK_LANE_T take = RK_BEATS_FLAGGED(w2, w1, nan_w2, nan_w1);
                y[i] = take ? w2 : w1;
                RK_PUT_INDEX(i, take ? 2 + second : first);
            }
        }
        if (RK_IDX_VIA_LANES) {
            RK_FN(store_indices)(i1 - i0, lanes, (char *)(idx + i0), RK_IDX_SIZE);
        }
    }
#undef RK_PUT_INDEX
}

/*
 * Members are rows of n elements.  The running maximum of a chunk of the
 * row stays in local arrays whose lanes have the compute type's width
 * (RK_LANE_T), so the update vectorises; y and idx are written once, by
 * the last comparison itself where they are contiguous.  Where the rows
 * are contiguous, each chunk asks for the same chunk of the rows of next
 * (the next group, or NULL).  Out of line, as maxout_small_groups.
 */
RK_NOINLINE void RK_FN(maxout_rows)(rk_intp n, rk_intp k,
                                    const char *x, rk_intp sm, rk_intp sx,
                                    char *y, rk_intp sy, char *idx, rk_intp si,
                                    const char *next)
{
    RK_COMP_T buf0[RK_CHUNK], buf1[RK_CHUNK], best[RK_CHUNK];
    RK_LANE_T best_j[RK_CHUNK];
    const int direct = sy == RK_ISIZE && si == RK_IDX_SIZE;
    /* in one pass where AVX-512's mask registers make the selects cheap,
     * and at AVX2 for k = 4 past the caches (next given), where the four
     * rows in one stream cost less than passes over a chunk; elsewhere the
     * passes over a chunk in L1 cost less than the one pass's selects */
    if ((RK_ISA_LEVEL == RK_LEVEL_AVX512 || (RK_ISA_LEVEL == RK_LEVEL_AVX2 && next && k == 4))
        && (k == 2 || k == 4) && direct && sx == RK_ISIZE) {
        /* k as a constant: a loop of its own for each */
        RK_FN(maxout_rows_at_once)(n, k == 2 ? 2 : 4, x, sm, (RK_STORE_T *)(void *)y,
                                   (RK_INDEX_T *)(void *)idx, next);
        return;
    }
    /* each member's pass over a chunk asks for the next group's member
     * (AVX2, float64 k=4, against no hints: 0.81x the time; asking for all
     * members at the start of the chunk, 1.08x) */
#define RK_ASK_NEXT(j)                                                             \
    do {                                                                           \
        if (next && sx == RK_ISIZE) {                                              \
            rk_prefetch_lines(next + (j) * sm + i0 * RK_ISIZE, m * RK_ISIZE);      \
        }                                                                          \
    } while (0)
    for (rk_intp i0 = 0; i0 < n; i0 += RK_CHUNK) {
        const rk_intp m = n - i0 < RK_CHUNK ? n - i0 : RK_CHUNK;
        const char *x0 = x + i0 * sx;
        RK_ASK_NEXT(0);
        const RK_COMP_T *v0 = RK_ROW(row_values)(m, x0, sx, buf0);
        const RK_COMP_T *v = v0;
        if (k == 1) {
            for (rk_intp i = 0; i < m; i++) {
                best[i] = v0[i];
                best_j[i] = 0;
            }
        }
        for (rk_intp j = 1; j < k; j++) {
            RK_ASK_NEXT(j);
            v = RK_ROW(row_values)(m, x0 + j * sm, sx, j == 1 ? buf1 : buf0);
            if (direct && j == k - 1) {
                RK_STORE_T *yy = RK_AT(RK_STORE_T, y, i0 * sy);
                RK_INDEX_T *ii = RK_AT(RK_INDEX_T, idx, i0 * si);
                const RK_COMP_T *b = j == 1 ? v0 : best;
                for (rk_intp i = 0; i < m; i++) {
                    int take = RK_BEATS(v[i], b[i]);
                    yy[i] = take ? v[i] : b[i];
                    ii[i] = take ? (RK_INDEX_T)j : (RK_INDEX_T)(j == 1 ? 0 : best_j[i]);
                }
            }
            else if (j == 1) {          /* members 0 and 1 start the maximum */
                for (rk_intp i = 0; i < m; i++) {
                    int take = RK_BEATS(v[i], v0[i]);
                    best[i] = take ? v[i] : v0[i];
                    best_j[i] = (RK_LANE_T)take;
                }
            }
            else {
                for (rk_intp i = 0; i < m; i++) {
                    int take = RK_BEATS(v[i], best[i]);
                    best[i] = take ? v[i] : best[i];
                    best_j[i] = take ? (RK_LANE_T)j : best_j[i];
                }
            }
        }
        if (!direct || k == 1) {
            RK_ROW(store_row)(m, best, y + i0 * sy, sy);
            RK_FN(store_indices)(m, best_j, idx + i0 * si, si);
        }
    }
#undef RK_ASK_NEXT
}

#undef RK_IDX_VIA_LANES
#else
/*
 * float16 compares the stored bits as int16 keys (rk_half_key in
 * rk_formulas.h), with no conversion: vector lanes of 16 bits hold the
 * key, the value and the index (RK_LANE_T), and y is the winner as stored.
 *
 * Groups of k = 2 or 4 side by side (axis last), with restrict pointers
 * (x, y and idx are apart: the Python layer sees to it).  A group of 4 is
 * the tournament of maxout_rows_at_once, in one pass.  The key a pair
 * hands on is the larger of its two: its winner's, or one above +inf
 * where the pair holds a NaN, as RK_HALF_BEATS needs (selecting the
 * winner's key instead, gcc made the rule a select among comparisons,
 * which it did not vectorise).
 */
#define RK_PAIR_KEY(key_a, key_b) ((key_a) > (key_b) ? (key_a) : (key_b))
RK_INLINE void RK_FN(maxout_small_groups)(rk_intp n, int k, const char *x,
                                          char *y, char *idx, int prefetch)
{
    const uint16_t *RK_RESTRICT v = (const uint16_t *)(const void *)x;
    uint16_t *RK_RESTRICT yy = (uint16_t *)(void *)y;
    RK_INDEX_T *RK_RESTRICT ii = (RK_INDEX_T *)(void *)idx;
    (void)prefetch;     /* one pass over the keys: the hardware keeps up */
    if (k == 2) {
        for (rk_intp g = 0; g < n; g++) {
            uint16_t a = v[2 * g], b = v[2 * g + 1];
            int take = RK_HALF_BEATS(rk_half_key(b), rk_half_key(a));
            yy[g] = take ? b : a;
            ii[g] = (RK_INDEX_T)take;
        }
        return;
    }
    rk_intp g0 = 0;
#if defined(RK_HALF_MAXOUT4)
    if (RK_IDX_SIZE == 1) {
        g0 = rk_half_maxout4_groups(n, x, y, idx);
    }
#elif defined(RK_MAXOUT4_AVX2)
    if (RK_IDX_SIZE == 1) {
        g0 = rk_avx2_maxout4_groups_f16(n, v, yy, (uint8_t *)(void *)ii);
    }
#endif
    for (rk_intp g = g0; g < n; g++) {
        uint16_t a = v[4 * g], b = v[4 * g + 1], c = v[4 * g + 2], d = v[4 * g + 3];
        int16_t key_a = rk_half_key(a), key_b = rk_half_key(b);
        int16_t key_c = rk_half_key(c), key_d = rk_half_key(d);
        int first = RK_HALF_BEATS(key_b, key_a), second = RK_HALF_BEATS(key_d, key_c);
        int16_t key_1 = RK_PAIR_KEY(key_a, key_b), key_2 = RK_PAIR_KEY(key_c, key_d);
        int take = RK_HALF_BEATS(key_2, key_1);
        yy[g] = take ? (second ? d : c) : (first ? b : a);
        ii[g] = (RK_INDEX_T)(take ? 2 + second : first);
    }
}

/* Members are contiguous rows of n elements, sm bytes apart.  Members 0
 * and 1 start the maximum and the last member's loop writes y and idx
 * itself, so that no loop only copies.  x, y and idx are apart (the Python
 * layer sees to it), which the restrict pointers tell the compiler.  Each
 * chunk asks for the same chunk of the rows of next (the next group, or
 * NULL).  Out of line, as maxout_small_groups of float32 and float64. */
RK_NOINLINE void RK_FN(maxout_rows_contiguous)(rk_intp n, rk_intp k,
                                               const char *x, rk_intp sm,
                                               uint16_t *RK_RESTRICT y,
                                               RK_INDEX_T *RK_RESTRICT idx,
                                               const char *next)
{
    uint16_t best[RK_CHUNK];
    int16_t best_key[RK_CHUNK];
    RK_LANE_T best_j[RK_CHUNK];
#define RK_MEMBER(j) (RK_CONST_AT(uint16_t, x, (j) * sm) + i0)
    for (rk_intp i0 = 0; i0 < n; i0 += RK_CHUNK) {
        const rk_intp m = n - i0 < RK_CHUNK ? n - i0 : RK_CHUNK;
        for (rk_intp j = 0; next && j < k; j++) {
            rk_prefetch_lines(next + j * sm + i0 * RK_ISIZE, m * RK_ISIZE);
        }
        const uint16_t *RK_RESTRICT x0 = RK_MEMBER(0);
        const uint16_t *RK_RESTRICT x1 = RK_MEMBER(1);
        const uint16_t *RK_RESTRICT last = RK_MEMBER(k - 1);
        uint16_t *RK_RESTRICT yy = y + i0;
        RK_INDEX_T *RK_RESTRICT ii = idx + i0;
        if (k == 2) {
            for (rk_intp i = 0; i < m; i++) {
                uint16_t a = x0[i], b = x1[i];
                int take = RK_HALF_BEATS(rk_half_key(b), rk_half_key(a));
                yy[i] = take ? b : a;
                ii[i] = (RK_INDEX_T)take;
            }
            continue;
        }
        /* in one pass where maxout_rows_at_once is (see there) */
        if (k == 4 && (RK_ISA_LEVEL == RK_LEVEL_AVX512 || (RK_ISA_LEVEL == RK_LEVEL_AVX2 && next))) {
            const uint16_t *RK_RESTRICT x2 = RK_MEMBER(2);
            for (rk_intp i = 0; i < m; i++) {
                uint16_t a = x0[i], b = x1[i], c = x2[i], d = last[i];
                int16_t key_a = rk_half_key(a), key_b = rk_half_key(b);
                int16_t key_c = rk_half_key(c), key_d = rk_half_key(d);
                int first = RK_HALF_BEATS(key_b, key_a), second = RK_HALF_BEATS(key_d, key_c);
                int16_t key_1 = RK_PAIR_KEY(key_a, key_b), key_2 = RK_PAIR_KEY(key_c, key_d);
                int take = RK_HALF_BEATS(key_2, key_1);
                yy[i] = take ? (second ? d : c) : (first ? b : a);
                ii[i] = (RK_INDEX_T)(take ? 2 + second : first);
            }
            continue;
        }
        for (rk_intp i = 0; i < m; i++) {
            uint16_t a = x0[i], b = x1[i];
            int16_t key_a = rk_half_key(a), key_b = rk_half_key(b);
            int take = RK_HALF_BEATS(key_b, key_a);
            best[i] = take ? b : a;
            best_key[i] = take ? key_b : key_a;
            best_j[i] = (RK_LANE_T)take;
        }
        for (rk_intp j = 2; j < k - 1; j++) {
            const uint16_t *RK_RESTRICT xj = RK_MEMBER(j);
            for (rk_intp i = 0; i < m; i++) {
                uint16_t v = xj[i];
                int16_t key = rk_half_key(v);
                int take = RK_HALF_BEATS(key, best_key[i]);
                best[i] = take ? v : best[i];
                best_key[i] = take ? key : best_key[i];
                best_j[i] = take ? (RK_LANE_T)j : best_j[i];
            }
        }
        for (rk_intp i = 0; i < m; i++) {
            uint16_t v = last[i];
            int take = RK_HALF_BEATS(rk_half_key(v), best_key[i]);
            yy[i] = take ? v : best[i];
            ii[i] = (RK_INDEX_T)(take ? (RK_LANE_T)(k - 1) : best_j[i]);
        }
    }
#undef RK_MEMBER
}

/* Rows of members: contiguous ones as above, others group by group. */
RK_INLINE void RK_FN(maxout_rows)(rk_intp n, rk_intp k,
                                  const char *x, rk_intp sm, rk_intp sx,
                                  char *y, rk_intp sy, char *idx, rk_intp si,
                                  const char *next)
{
    if (k >= 2 && sx == RK_ISIZE && sy == RK_ISIZE && si == RK_IDX_SIZE) {
        RK_FN(maxout_rows_contiguous)(n, k, x, sm, (uint16_t *)(void *)y,
                                      (RK_INDEX_T *)(void *)idx, next);
        return;
    }
    for (rk_intp i = 0; i < n; i++) {
        RK_FN(maxout_group)(k, x + i * sx, sm, y + i * sy, idx + i * si);
    }
}
#undef RK_PAIR_KEY
#endif

static void RK_FN(rk_maxout)(
    const rk_block *block, rk_intp k,
    const char *x, const rk_intp x_s[4],
    char *y, const rk_intp y_s[3],
    char *idx, const rk_intp idx_s[3])
{
    const int groups_contiguous = x_s[2] == RK_ISIZE && x_s[1] == k * RK_ISIZE
                                  && y_s[1] == RK_ISIZE && idx_s[1] == RK_IDX_SIZE;
    rk_intp n_outer = block->n_outer, n_groups = block->n_chan;
    /* x's size in bytes: prefetch hints only where x is past the caches
     * (in cache they cost more than they save) */
    const int prefetch =
        n_outer * n_groups * k * block->n_inner * RK_ISIZE >= RK_PREFETCH_MIN_BYTES;
    if (block->n_inner == 1 && groups_contiguous && (k == 2 || k == 4)) {
        /* outer rows that continue one another make one run of groups */
        if (x_s[0] == n_groups * k * RK_ISIZE && y_s[0] == n_groups * RK_ISIZE
            && idx_s[0] == n_groups * RK_IDX_SIZE) {
            n_groups *= n_outer;
            n_outer = 1;
        }
        for (rk_intp o = 0; o < n_outer; o++) {
            const char *x_o = x + o * x_s[0];
            char *y_o = y + o * y_s[0], *i_o = idx + o * idx_s[0];
            if (k == 2) {
                RK_FN(maxout_small_groups)(n_groups, 2, x_o, y_o, i_o, prefetch);
            }
            else {
                RK_FN(maxout_small_groups)(n_groups, 4, x_o, y_o, i_o, prefetch);
            }
        }
        return;
    }
    for (rk_intp o = 0; o < n_outer; o++) {
        const char *x_o = x + o * x_s[0];
        char *y_o = y + o * y_s[0], *i_o = idx + o * idx_s[0];
        for (rk_intp g = 0; g < block->n_chan; g++) {
            const char *xg = x_o + g * x_s[1];
            char *yg = y_o + g * y_s[1], *ig = i_o + g * idx_s[1];
            /* past the caches, the rows of the next group, which the rows
             * kernels ask for as they go (see RK_PREFETCH_MIN_BYTES) */
            const char *next = !prefetch ? NULL
                               : g + 1 < block->n_chan ? xg + x_s[1]
                               : o + 1 < n_outer ? x_o + x_s[0] : NULL;
            if (block->n_inner == 1 || k - 1 > RK_LANE_MAX) {
                for (rk_intp i = 0; i < block->n_inner; i++) {
                    RK_FN(maxout_group)(k, xg + i * x_s[3], x_s[2],
                                        yg + i * y_s[2], ig + i * idx_s[2]);
                }
            }
            else {
                RK_FN(maxout_rows)(block->n_inner, k, xg, x_s[2], x_s[3],
                                   yg, y_s[2], ig, idx_s[2], next);
            }
        }
    }
}

/* Is every index of the row at most last (k - 1, or less where the type
 * holds no more)?  Checked before the row's group is written.  The row's
 * largest index is found in the index type itself, so that the loop
 * vectorises at the index's own width. */
RK_INLINE int RK_FN(indices_in_range)(rk_intp n, RK_INDEX_T last, const char *idx,
                                      rk_intp si)
{
    RK_INDEX_T high = 0;
    for (rk_intp i = 0; i < n; i++) {
        RK_INDEX_T v = RK_IDX(idx, i * si);
        high = v > high ? v : high;
    }
    return high <= last;
}

RK_INLINE int RK_FN(indices_valid)(rk_intp n, RK_INDEX_T last, const char *idx,
                                   rk_intp si)
{
    return si == RK_IDX_SIZE ? RK_FN(indices_in_range)(n, last, idx, RK_IDX_SIZE)
                             : RK_FN(indices_in_range)(n, last, idx, si);
}

/* Member j of every group in the row: dy where idx == j, else +0.0. */
RK_INLINE void RK_FN(scatter_member)(rk_intp n, rk_intp j,
                                     const char *dy, rk_intp sdy,
                                     const char *idx, rk_intp si,
                                     char *dx, rk_intp sdx)
{
    if ((uint64_t)j > (uint64_t)RK_INDEX_MAX) {     /* no index can be j */
        for (rk_intp i = 0; i < n; i++) {
            *RK_AT(RK_STORE_T, dx, i * sdx) = (RK_STORE_T)0;
        }
        return;
    }
    for (rk_intp i = 0; i < n; i++) {
        RK_STORE_T g = RK_RAW(dy, i * sdy);
        *RK_AT(RK_STORE_T, dx, i * sdx) =
            RK_IDX(idx, i * si) == (RK_INDEX_T)j ? g : (RK_STORE_T)0;
    }
}

/*
 * One pair's gradient, its index checked (0 or 1): g's bits as stored for
 * the member picked and +0.0 for the other, through masks made from the
 * index itself (at - 1 and 0 - at are all ones or zero).  gcc compiled the
 * selects this replaces into byte compares and mask-register shifts at
 * AVX-512 (C harness, one process, pairs side by side, against the
 * selects: 0.71x-0.78x the time past the caches, 0.88x-0.99x in cache;
 * 0.75x-1.05x at AVX2 and baseline).
 */
RK_INLINE void RK_FN(scatter_pair)(const RK_STORE_T *g, RK_INDEX_T at,
                                   RK_STORE_T *d0, RK_STORE_T *d1)
{
    const RK_BITS_T one = 1, picked = (RK_BITS_T)at;
    RK_BITS_T bits, first, second;
    memcpy(&bits, g, sizeof bits);
    first = (RK_BITS_T)(bits & (RK_BITS_T)(picked - one));
    second = (RK_BITS_T)(bits & (RK_BITS_T)(0u - picked));
    memcpy(d0, &first, sizeof first);
    memcpy(d1, &second, sizeof second);
}

/* Both members of n pairs whose members are contiguous rows sm bytes
 * apart, in one pass: dy and idx are read once.  (For k = 4 the loop of
 * four streams is slower than four passes.)  dx is apart from dy and idx
 * (the Python layer sees to it). */
RK_INLINE void RK_FN(scatter_pair_rows)(rk_intp n, const char *dy, const char *idx,
                                        char *dx, rk_intp sm)
{
    const RK_STORE_T *RK_RESTRICT g = (const RK_STORE_T *)(const void *)dy;
    const RK_INDEX_T *RK_RESTRICT at = (const RK_INDEX_T *)(const void *)idx;
    RK_STORE_T *RK_RESTRICT d0 = RK_AT(RK_STORE_T, dx, 0);
    RK_STORE_T *RK_RESTRICT d1 = RK_AT(RK_STORE_T, dx, sm);
    for (rk_intp i = 0; i < n; i++) {
        RK_FN(scatter_pair)(&g[i], at[i], &d0[i], &d1[i]);
    }
}

/* One group, members sm bytes apart, its index already checked. */
RK_INLINE void RK_FN(scatter_group)(rk_intp k, rk_intp at, RK_STORE_T g,
                                    char *dx, rk_intp sm)
{
    for (rk_intp j = 0; j < k; j++) {
        *RK_AT(RK_STORE_T, dx, j * sm) = j == at ? g : (RK_STORE_T)0;
    }
}

/* n groups of a small constant k side by side (axis last): vectorised
 * across groups with interleaved stores.  dx is apart from dy and idx
 * (the Python layer sees to it). */
RK_INLINE void RK_FN(scatter_small_groups)(rk_intp n, int k, const char *dy,
                                           const char *idx, char *dx)
{
    const RK_STORE_T *RK_RESTRICT g = (const RK_STORE_T *)(const void *)dy;
    const RK_INDEX_T *RK_RESTRICT at = (const RK_INDEX_T *)(const void *)idx;
    RK_STORE_T *RK_RESTRICT out = (RK_STORE_T *)(void *)dx;
    if (k == 2) {
        for (rk_intp i = 0; i < n; i++) {
            RK_FN(scatter_pair)(&g[i], at[i], &out[2 * i], &out[2 * i + 1]);
        }
        return;
    }
#ifdef RK_MAXOUT4_AVX2
    if (sizeof(RK_BITS_T) == 8) {
        for (rk_intp i = 0; i < n; i++) {
            rk_avx2_scatter4_f64((const double *)(const void *)&g[i], (uint64_t)at[i],
                                 (double *)(void *)&out[4 * i]);
        }
        return;
    }
#endif
    if (RK_ISA_LEVEL == RK_LEVEL_AVX512 && sizeof(RK_BITS_T) == 8) {
        /* float64: g's bits through masks made from the index by arithmetic
         * ((at ^ j) - 1 has its top bit set only where at == j; at is at
         * most 3), where gcc compiled the selects below into byte compares
         * and mask-register shifts (C harness, one process, k=4: past the
         * caches 0.74x-0.87x the time, in cache 1.04x; float32, and the
         * other levels, were as fast or faster with the selects) */
        for (rk_intp i = 0; i < n; i++) {
            const RK_BITS_T picked = (RK_BITS_T)at[i];
            RK_BITS_T bits;
            memcpy(&bits, &g[i], sizeof bits);
            for (int j = 0; j < k; j++) {
                const RK_BITS_T apart = (RK_BITS_T)((picked ^ (RK_BITS_T)j) - 1u);
                const RK_BITS_T mask = (RK_BITS_T)0 - (apart >> (8 * sizeof(RK_BITS_T) - 1));
                const RK_BITS_T member = bits & mask;
                memcpy(&out[i * k + j], &member, sizeof member);
            }
        }
        return;
    }
    for (rk_intp i = 0; i < n; i++) {
        RK_STORE_T gv = g[i];           /* loaded once, not under a mask */
        for (int j = 0; j < k; j++) {
            out[i * k + j] = at[i] == (RK_INDEX_T)j ? gv : (RK_STORE_T)0;
        }
    }
}

/* Every element of dx is written exactly once: dy at idx, +0.0 elsewhere. */
static int RK_FN(rk_maxout_backward)(
    const rk_block *block, rk_intp k, int index_signed,
    const char *dy, const rk_intp dy_s[3],
    const char *idx, const rk_intp idx_s[3],
    char *dx, const rk_intp dx_s[4])
{
    const rk_intp n = block->n_inner;
    const int contiguous = dy_s[2] == RK_ISIZE && idx_s[2] == RK_IDX_SIZE
                           && dx_s[3] == RK_ISIZE;
    const int groups_contiguous = dy_s[1] == RK_ISIZE && idx_s[1] == RK_IDX_SIZE
                                  && dx_s[2] == RK_ISIZE && dx_s[1] == k * RK_ISIZE;
    rk_intp n_outer = block->n_outer, n_groups = block->n_chan;
    /* the largest valid index, as the type holds it: a signed index read
     * as unsigned is negative above half the unsigned range */
    const RK_INDEX_T type_max = index_signed ? (RK_INDEX_T)(RK_INDEX_MAX >> 1)
                                             : (RK_INDEX_T)RK_INDEX_MAX;
    const RK_INDEX_T last = (uint64_t)(k - 1) >= (uint64_t)type_max
                            ? type_max : (RK_INDEX_T)(k - 1);
    if (n == 1 && groups_contiguous && dy_s[0] == n_groups * RK_ISIZE
        && idx_s[0] == n_groups * RK_IDX_SIZE && dx_s[0] == n_groups * k * RK_ISIZE) {
        n_groups *= n_outer;            /* one run of groups, as in rk_maxout */
        n_outer = 1;
    }
    for (rk_intp o = 0; o < n_outer; o++) {
        if (n == 1) {                   /* groups side by side along the axis */
            for (rk_intp g0 = 0; g0 < n_groups; g0 += RK_CHUNK) {
                const rk_intp m = n_groups - g0 < RK_CHUNK ? n_groups - g0 : RK_CHUNK;
                const char *dy_g = dy + o * dy_s[0] + g0 * dy_s[1];
                const char *i_g = idx + o * idx_s[0] + g0 * idx_s[1];
                char *dx_g = dx + o * dx_s[0] + g0 * dx_s[1];
                if (!RK_FN(indices_valid)(m, last, i_g, idx_s[1])) {
                    return -1;
                }
                if (groups_contiguous && k == 2) {
                    RK_FN(scatter_small_groups)(m, 2, dy_g, i_g, dx_g);
                }
                else if (groups_contiguous && k == 4) {
                    RK_FN(scatter_small_groups)(m, 4, dy_g, i_g, dx_g);
                }
                else {
                    for (rk_intp g = 0; g < m; g++) {
                        const rk_intp at = (rk_intp)RK_IDX(i_g, g * idx_s[1]);
                        const RK_STORE_T g_v = RK_RAW(dy_g, g * dy_s[1]);
                        char *dx_m = dx_g + g * dx_s[1];
                        if (dx_s[2] == RK_ISIZE) {          /* members contiguous */
                            RK_FN(scatter_group)(k, at, g_v, dx_m, RK_ISIZE);
                        }
                        else {
                            RK_FN(scatter_group)(k, at, g_v, dx_m, dx_s[2]);
                        }
                    }
                }
            }
            continue;
        }
        for (rk_intp g = 0; g < block->n_chan; g++) {
            const char *dyg = dy + o * dy_s[0] + g * dy_s[1];
            const char *ig = idx + o * idx_s[0] + g * idx_s[1];
            char *dxg = dx + o * dx_s[0] + g * dx_s[1];
            if (!RK_FN(indices_valid)(n, last, ig, idx_s[2])) {
                return -1;
            }
            if (contiguous && k == 2) {
                RK_FN(scatter_pair_rows)(n, dyg, ig, dxg, dx_s[2]);
                continue;
            }
            for (rk_intp j = 0; j < k; j++) {
                if (contiguous) {
                    RK_FN(scatter_member)(n, j, dyg, RK_ISIZE, ig, RK_IDX_SIZE,
                                          dxg + j * dx_s[2], RK_ISIZE);
                }
                else {
                    RK_FN(scatter_member)(n, j, dyg, dy_s[2], ig, idx_s[2],
                                          dxg + j * dx_s[2], dx_s[3]);
                }
            }
        }
    }
    return 0;
}

#undef RK_FN
#undef RK_ROW
#undef RK_RAW
#undef RK_IDX
#undef RK_ISIZE
#undef RK_IDX_SIZE
