// Quantized matrix kernels. Each function walks output rows in the outer loop and a few tokens in
// the inner tile, so each weight row is loaded (and, for packed formats, unpacked) once for several
// tokens. Every token's sum is computed in the same order whatever the tile (batch invariance: a
// token's output never depends on the other tokens of the call). The portable branch is the same
// arithmetic, one element at a time.
#include "CQuantKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#define CQK_AVX2 1
#include <immintrin.h>
#else
#define CQK_AVX2 0
#endif
#if CQK_AVX2 && defined(__F16C__)
#define CQK_F16C 1
#else
#define CQK_F16C 0
#endif

#define CQK_INLINE static inline __attribute__((always_inline))

int cqk_simd_enabled(void) { return CQK_AVX2; }

// E4M3 -> fp32 without a table: put the 7 magnitude bits where fp32 keeps its exponent and top
// three mantissa bits and multiply by 2^(127-7). Normal codes land on 2^(e-7) * (1 + m/8); codes with
// e = 0 become fp32 subnormals m/8 * 2^-126, which the same product turns into m * 2^-9. Exact.
static const float kE4M3Rebias = 1.329227995784916e36f;  // 2^120

#if CQK_AVX2

CQK_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

CQK_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// ---- fp32-activation kernels: one tile = one weight row x NT tokens, two accumulators each ----

CQK_INLINE __m256 load_bf16x8(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

CQK_INLINE __m256 load_e4m3x8(const uint8_t *p) {
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    __m256i sign = _mm256_and_si256(_mm256_slli_epi32(v, 24), _mm256_set1_epi32((int)0x80000000u));
    __m256i mag = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x7f)), 20);
    __m256 raw = _mm256_castsi256_ps(_mm256_or_si256(sign, mag));
    return _mm256_mul_ps(raw, _mm256_set1_ps(kE4M3Rebias));
}

enum { KIND_F32 = 0, KIND_BF16 = 1, KIND_E4M3 = 2 };

CQK_INLINE __m256 load_w8(int kind, const void *w, size_t i) {
    if (kind == KIND_F32) return _mm256_loadu_ps((const float *)w + i);
    if (kind == KIND_BF16) return load_bf16x8((const uint16_t *)w + i);
    return load_e4m3x8((const uint8_t *)w + i);
}

// One weight row against a single token, four accumulators (GEMV is latency-bound otherwise).
CQK_INLINE void float_row1(int kind, const float *x, const void *w, size_t k, float *y) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
        a0 = _mm256_fmadd_ps(load_w8(kind, w, i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load_w8(kind, w, i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_w8(kind, w, i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_w8(kind, w, i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i < k; i += 16) {
        a0 = _mm256_fmadd_ps(load_w8(kind, w, i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load_w8(kind, w, i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    *y = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// `nt` tokens against one weight row: every token keeps float_row1's four accumulators and order
// (so its sum is bit-identical to float_row1's — a token's result never depends on which other tokens
// share the call: batch invariance), while each weight vector is loaded and decoded once for all.
CQK_INLINE void float_tile(int kind, int nt, const float *x, size_t xstride, const void *w, size_t k,
                           float *y, size_t ystride) {
    __m256 a[3][4];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 4; j++) a[t][j] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
        for (int j = 0; j < 4; j++) {
            __m256 wv = load_w8(kind, w, i + 8 * j);
            for (int t = 0; t < nt; t++)
                a[t][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)t * xstride + i + 8 * j), a[t][j]);
        }
    }
    for (; i < k; i += 16) {
        for (int j = 0; j < 2; j++) {
            __m256 wv = load_w8(kind, w, i + 8 * j);
            for (int t = 0; t < nt; t++)
                a[t][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)t * xstride + i + 8 * j), a[t][j]);
        }
    }
    for (int t = 0; t < nt; t++)
        y[(size_t)t * ystride] = hsum_ps(_mm256_add_ps(_mm256_add_ps(a[t][0], a[t][1]), _mm256_add_ps(a[t][2], a[t][3])));
}

CQK_INLINE void float_gemm(int kind, size_t esize, const float *x, size_t xstride, size_t tokens,
                           const void *w, size_t k, size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++) {
        const void *wr = (const char *)w + r * k * esize;
        size_t t = 0;
        for (; t + 3 <= tokens; t += 3) float_tile(kind, 3, x + t * xstride, xstride, wr, k, y + t * ystride + r, ystride);
        switch (tokens - t) {
            case 2: float_tile(kind, 2, x + t * xstride, xstride, wr, k, y + t * ystride + r, ystride); break;
            case 1: float_row1(kind, x + t * xstride, wr, k, y + t * ystride + r); break;
            default: break;
        }
    }
}

void cqk_f32_gemm(const float *x, size_t xstride, size_t tokens, const float *w, size_t k,
                  size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    float_gemm(KIND_F32, 4, x, xstride, tokens, w, k, rowBegin, rowEnd, y, ystride);
}

void cqk_bf16_gemm(const float *x, size_t xstride, size_t tokens, const uint16_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    float_gemm(KIND_BF16, 2, x, xstride, tokens, w, k, rowBegin, rowEnd, y, ystride);
}

void cqk_e4m3_gemm(const float *x, size_t xstride, size_t tokens, const uint8_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    float_gemm(KIND_E4M3, 1, x, xstride, tokens, w, k, rowBegin, rowEnd, y, ystride);
}

// ---- int8 x int8: vpmaddubsw needs one unsigned operand, so feed it |x| and move x's sign onto
// the weight (vpsignb). Weights lie in [-127, 127], so negating them never overflows; |x| <= 128 reads
// correctly as unsigned (even for x = -128), and a pair sum is at most 2 * 128 * 127 = 32512 < 32767:
// vpmaddubsw never saturates. vpmaddwd by ones widens to int32.

// `nr` (1 or 2) consecutive weight rows against `nt` tokens whose |x| is precomputed (`xa`, same
// layout as x): each activation vector is loaded once for both rows, each weight vector once for all
// tokens. Exact int32 sums, so the tiling never changes a result.
CQK_INLINE void s8_tile(int nr, int nt, const int8_t *x, const int8_t *xa, size_t xstride, const int8_t *w, size_t k,
                        int32_t *y, size_t ystride) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[2][4];
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++) acc[r][t] = _mm256_setzero_si256();
    for (size_t i = 0; i < k; i += 32) {
        __m256i wv[2];
        for (int r = 0; r < nr; r++) wv[r] = _mm256_loadu_si256((const __m256i *)(w + (size_t)r * k + i));
        for (int t = 0; t < nt; t++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(x + (size_t)t * xstride + i));
            __m256i av = _mm256_loadu_si256((const __m256i *)(xa + (size_t)t * xstride + i));
            for (int r = 0; r < nr; r++) {
                __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(wv[r], xv));
                acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(p, ones));
            }
        }
    }
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++) y[(size_t)t * ystride + r] = hsum_epi32(acc[r][t]);
}

void cqk_s8_gemm(const int8_t *x, size_t xstride, size_t tokens, const int8_t *w, size_t k,
                 size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride) {
    // |x| once per call instead of once per row (vpmaddubsw's unsigned operand).
    int8_t stack[8192];
    size_t bytes = tokens * xstride;
    int8_t *xa = bytes <= sizeof stack ? stack : (int8_t *)malloc(bytes);
    for (size_t t = 0; t < tokens; t++)
        for (size_t i = 0; i < k; i += 32)
            _mm256_storeu_si256((__m256i *)(xa + t * xstride + i),
                                _mm256_abs_epi8(_mm256_loadu_si256((const __m256i *)(x + t * xstride + i))));
#define S8_TILE(nr, n) s8_tile(nr, n, x + t * xstride, xa + t * xstride, xstride, wr, k, y + t * ystride + r, ystride)
#define S8_ROWS(nr)                                                   \
    {                                                                 \
        const int8_t *wr = w + r * k;                                 \
        size_t t = 0;                                                 \
        for (; t + 4 <= tokens; t += 4) S8_TILE(nr, 4);               \
        switch (tokens - t) {                                         \
            case 3: S8_TILE(nr, 3); break;                            \
            case 2: S8_TILE(nr, 2); break;                            \
            case 1: S8_TILE(nr, 1); break;                            \
            default: break;                                           \
        }                                                             \
    }
    size_t r = rowBegin;
    // Two rows per pass pay off only with several tokens; a single token streams one row at a time
    // (memory-bound: one sequential weight stream measured ~15 % faster than two interleaved).
    if (tokens > 1)
        for (; r + 2 <= rowEnd; r += 2) S8_ROWS(2)
    for (; r < rowEnd; r++) S8_ROWS(1)
#undef S8_ROWS
#undef S8_TILE
    if (xa != stack) free(xa);
}

// ---- ternary: codes c = t + 1 in {0, 1, 2} are already unsigned, so vpmaddubsw(c, x) needs no sign
// trick, and sum(t * x) = sum(c * x) - sum(x). A pair sum is at most 2 * 2 * 127 = 508, so the four
// planes of a 128-weight block add up in int16 (<= 2032) before one widening vpmaddwd.

CQK_INLINE void t2_tile(int nt, const int8_t *x, size_t xstride, const int32_t *xsum, const uint8_t *w,
                        size_t k, int32_t *y, size_t ystride) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i acc[4];
    for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_si256();
    for (size_t i = 0; i < k; i += 128) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + i / 4));
        __m256i c0 = _mm256_and_si256(v, m3);
        __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
        __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
        __m256i c3 = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
        for (int t = 0; t < nt; t++) {
            const int8_t *xt = x + (size_t)t * xstride + i;
            __m256i s = _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)xt));
            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(xt + 32))));
            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(xt + 64))));
            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(xt + 96))));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(s, ones));
        }
    }
    for (int t = 0; t < nt; t++) y[(size_t)t * ystride] = hsum_epi32(acc[t]) - xsum[t];
}

void cqk_t2_gemm(const int8_t *x, size_t xstride, size_t tokens, const int32_t *xsum,
                 const uint8_t *w, size_t k, size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++) {
        const uint8_t *wr = w + r * (k / 4);
        size_t t = 0;
        for (; t + 4 <= tokens; t += 4)
            t2_tile(4, x + t * xstride, xstride, xsum + t, wr, k, y + t * ystride + r, ystride);
        switch (tokens - t) {
            case 3: t2_tile(3, x + t * xstride, xstride, xsum + t, wr, k, y + t * ystride + r, ystride); break;
            case 2: t2_tile(2, x + t * xstride, xstride, xsum + t, wr, k, y + t * ystride + r, ystride); break;
            case 1: t2_tile(1, x + t * xstride, xstride, xsum + t, wr, k, y + t * ystride + r, ystride); break;
            default: break;
        }
    }
}

// ---- W4A16: int4 weights x int16 activations (per-group absmax, `cqk_quantize_int16_groups`).
// One token (memory-bound: the packed weights are read straight from memory): codes c = q + 8 in
// [0, 15] are unsigned, so vpmaddubsw multiplies them with the activation's byte planes: lo bytes
// (unsigned, 0..255) against c (as signed: 0..15) and c (unsigned) against hi bytes (signed). Pair sums
// are at most 2 * 255 * 15 = 7650 and 2 * 15 * 128 = 3840, so the four of a 128-weight group add up in
// int16 (<= 30600 and 15360) before one vpmaddwd each widens them (hi part times 256).
// sum((c - 8) x) = sum(c x) - 8 sum(x) with the lane sums of x precomputed.
// Several tokens (compute-bound): each weight row is unpacked once per call into signed int16 in
// lane order (the activations' `pairs` layout), then one vpmaddwd per 16 weights and token — half the
// multiplies of the byte planes, no correction term, and the activation operand comes from memory.
// Both paths compute the same exact integer per group and lane and fold it into fp32 lanes in the
// same order, so a token's bits do not depend on how many tokens share the call.

CQK_INLINE void q4_group_fold(__m256i pl, __m256i ph, const int32_t *lanes, float scale, __m256 *total) {
    __m256i acc = _mm256_add_epi32(_mm256_madd_epi16(ph, _mm256_set1_epi16(256)), _mm256_madd_epi16(pl, _mm256_set1_epi16(1)));
    acc = _mm256_sub_epi32(acc, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)lanes), 3));
    *total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(scale), *total);
}

// `nr` rows against one token: the token's planes are loaded once per block for all rows.
CQK_INLINE void q4_rows(int nr, const int8_t *xlo, const int8_t *xhi, const float *xs, const int32_t *xl,
                        const uint8_t *w, const float *scales, size_t groups, size_t k, size_t r0, float *y) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 total[3];
    for (int i = 0; i < nr; i++) total[i] = _mm256_setzero_ps();
    size_t blocks = k / 64;
    for (size_t g = 0; g < groups; g++) {
        __m256i pl[3], ph[3];
        for (int i = 0; i < nr; i++) pl[i] = ph[i] = _mm256_setzero_si256();
        size_t b1 = 2 * g + 2 < blocks ? 2 * g + 2 : blocks;
        for (size_t b = 2 * g; b < b1; b++) {
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(xlo + b * 64));
            __m256i a1 = _mm256_loadu_si256((const __m256i *)(xlo + b * 64 + 32));
            __m256i h0 = _mm256_loadu_si256((const __m256i *)(xhi + b * 64));
            __m256i h1 = _mm256_loadu_si256((const __m256i *)(xhi + b * 64 + 32));
            for (int i = 0; i < nr; i++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(w + (r0 + i) * (k / 2) + b * 32));
                __m256i n0 = _mm256_and_si256(v, m4), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                pl[i] = _mm256_add_epi16(pl[i], _mm256_add_epi16(_mm256_maddubs_epi16(a0, n0), _mm256_maddubs_epi16(a1, n1)));
                ph[i] = _mm256_add_epi16(ph[i], _mm256_add_epi16(_mm256_maddubs_epi16(n0, h0), _mm256_maddubs_epi16(n1, h1)));
            }
        }
        for (int i = 0; i < nr; i++) q4_group_fold(pl[i], ph[i], xl + 8 * g, scales[(r0 + i) * groups + g] * xs[g], &total[i]);
    }
    for (int i = 0; i < nr; i++) y[r0 + i] = hsum_ps(total[i]);
}

// Weight row `w` (k/2 bytes) as signed int16 in lane order: per 32 weights, elements 0 1 4 5 … 28 29
// then 2 3 6 7 … 30 31 (the layout of `cqk_quantize_int16_groups`' `pairs`).
CQK_INLINE void q4_unpack_row(const uint8_t *w, size_t k, int16_t *out) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    const __m256i order = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                           0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    for (size_t b = 0; b < k / 64; b++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + b * 32));
        __m256i q[2] = {_mm256_sub_epi8(_mm256_and_si256(v, m4), eight),
                        _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), eight)};
        for (int h = 0; h < 2; h++) {
            // Per 128-bit lane the pair-lane bytes, then the others; qwords [A0 B0 A1 B1] -> [A0 A1 B0 B1].
            __m256i s = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(q[h], order), 0xD8);
            int16_t *o = out + b * 64 + h * 32;
            _mm256_storeu_si256((__m256i *)o, _mm256_cvtepi8_epi16(_mm256_castsi256_si128(s)));
            _mm256_storeu_si256((__m256i *)(o + 16), _mm256_cvtepi8_epi16(_mm256_extracti128_si256(s, 1)));
        }
    }
}

// `nr` ≤ 2 unpacked rows (`k` apart in `wq`) against `nt` ≤ 4 tokens (lane-ordered int16 codes, `k`
// apart): one vpmaddwd per 16 weights, row and token, each token's codes loaded once for both rows
// (0.75 loads per vpmaddwd with two rows). Per group the int32 lane sums are exact, so the order the
// products go in does not matter; they fold into fp32 lanes like `q4_group_fold`.
CQK_INLINE void q4_pairs_block(int nr, int nt, const int16_t *wq, const int16_t *x, const float *xs,
                               const float *scales, size_t groups, size_t k, float *y, size_t ystride) {
    __m256 total[2][4];
    for (int i = 0; i < nr; i++)
        for (int t = 0; t < nt; t++) total[i][t] = _mm256_setzero_ps();
    for (size_t g = 0; g < groups; g++) {
        __m256i acc[2][4];
        for (int i = 0; i < nr; i++)
            for (int t = 0; t < nt; t++) acc[i][t] = _mm256_setzero_si256();
        size_t end = g * 128 + 128 < k ? g * 128 + 128 : k;
        for (size_t e = g * 128; e < end; e += 16) {
            __m256i wv[2];
            for (int i = 0; i < nr; i++) wv[i] = _mm256_loadu_si256((const __m256i *)(wq + i * k + e));
            for (int t = 0; t < nt; t++) {
                __m256i xt = _mm256_loadu_si256((const __m256i *)(x + (size_t)t * k + e));
                for (int i = 0; i < nr; i++) acc[i][t] = _mm256_add_epi32(acc[i][t], _mm256_madd_epi16(wv[i], xt));
            }
        }
        for (int i = 0; i < nr; i++)
            for (int t = 0; t < nt; t++) {
                __m256 scale = _mm256_set1_ps(scales[i * groups + g] * xs[(size_t)t * groups + g]);
                total[i][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i][t]), scale, total[i][t]);
            }
    }
    for (int i = 0; i < nr; i++)
        for (int t = 0; t < nt; t++) y[(size_t)t * ystride + i] = hsum_ps(total[i][t]);
}

// `nr` unpacked rows against every token, four at a time.
CQK_INLINE void q4_pairs_rows(int nr, const int16_t *wq, const int16_t *x, const float *xs, const float *scales,
                              size_t tokens, size_t groups, size_t k, float *y, size_t ystride) {
    size_t t = 0;
#define Q4_TILE(n) q4_pairs_block(nr, n, wq, x + t * k, xs + t * groups, scales, groups, k, y + t * ystride, ystride)
    for (; t + 4 <= tokens; t += 4) Q4_TILE(4);
    switch (tokens - t) {
        case 3: Q4_TILE(3); break;
        case 2: Q4_TILE(2); break;
        case 1: Q4_TILE(1); break;
        default: break;
    }
#undef Q4_TILE
}

void cqk_q4_gemm(const int8_t *xlo, const int8_t *xhi, const int16_t *xpairs, const float *xscales,
                 const int32_t *xlanes, size_t tokens, const uint8_t *w, const float *scales, size_t groups, size_t k,
                 size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    if (tokens == 1) {
        size_t r = rowBegin;
        for (; r + 3 <= rowEnd; r += 3) q4_rows(3, xlo, xhi, xscales, xlanes, w, scales, groups, k, r, y);
        for (; r < rowEnd; r++) q4_rows(1, xlo, xhi, xscales, xlanes, w, scales, groups, k, r, y);
        return;
    }
    // Rows are unpacked once for all tokens (L1-resident: 2 k bytes each), two at a time.
    int16_t stack[2 * 4096];
    int16_t *wq = k <= 4096 ? stack : (int16_t *)malloc(2 * k * sizeof(int16_t));
    for (size_t r = rowBegin; r < rowEnd; r += 2) {
        int nr = rowEnd - r >= 2 ? 2 : 1;
        for (int i = 0; i < nr; i++) q4_unpack_row(w + (r + i) * (k / 2), k, wq + i * k);
        if (nr == 2)
            q4_pairs_rows(2, wq, xpairs, xscales, scales + r * groups, tokens, groups, k, y + r, ystride);
        else
            q4_pairs_rows(1, wq, xpairs, xscales, scales + r * groups, tokens, groups, k, y + r, ystride);
    }
    if (wq != stack) free(wq);
}

// ---- zero skipping, column-major weights: two nonzero activations (i, j) at a time. Interleave
// bytes of columns i and j, widen to int16 pairs (w_i[o], w_j[o]) and vpmaddwd them with the pair
// (x_i, x_j): one instruction yields x_i*w_i[o] + x_j*w_j[o] for eight outputs in int32.

CQK_INLINE void sparse_cols(int nq, const int32_t *idx, const int16_t *val, size_t nnz, const int8_t *wt,
                            size_t ldw, size_t o, int32_t *y) {
    __m256i acc[8];
    for (int q = 0; q < 2 * nq; q++) acc[q] = _mm256_setzero_si256();
    for (size_t p = 0; p < nnz; p += 2) {
        const int8_t *ci = wt + (size_t)idx[p] * ldw + o;
        const int8_t *cj = wt + (size_t)idx[p + 1] * ldw + o;
        __m256i xx = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)val[p + 1] << 16) | (uint16_t)val[p]));
        for (int q = 0; q < nq; q++) {
            __m128i a = _mm_loadu_si128((const __m128i *)(ci + 16 * q));
            __m128i b = _mm_loadu_si128((const __m128i *)(cj + 16 * q));
            acc[2 * q] = _mm256_add_epi32(acc[2 * q], _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b)), xx));
            acc[2 * q + 1] = _mm256_add_epi32(acc[2 * q + 1], _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpackhi_epi8(a, b)), xx));
        }
    }
    for (int q = 0; q < 2 * nq; q++) _mm256_storeu_si256((__m256i *)(y + o + 8 * q), acc[q]);
}

void cqk_s8_sparse_gemv(const int32_t *idx, const int16_t *val, size_t nnz, const int8_t *wt, size_t ldw,
                        size_t colBegin, size_t colEnd, int32_t *y) {
    size_t o = colBegin;
    for (; o + 64 <= colEnd; o += 64) sparse_cols(4, idx, val, nnz, wt, ldw, o, y);
    for (; o + 16 <= colEnd; o += 16) sparse_cols(1, idx, val, nnz, wt, ldw, o, y);
}

#else  // portable fallback: the same sums, one element at a time.

static float e4m3_decode(uint8_t c) {
    uint32_t bits = ((uint32_t)(c & 0x80) << 24) | ((uint32_t)(c & 0x7f) << 20);
    float raw;
    memcpy(&raw, &bits, 4);
    return raw * kE4M3Rebias;
}

static float bf16_decode(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void cqk_f32_gemm(const float *x, size_t xstride, size_t tokens, const float *w, size_t k,
                  size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            float s = 0;
            for (size_t i = 0; i < k; i++) s += w[r * k + i] * x[t * xstride + i];
            y[t * ystride + r] = s;
        }
}

void cqk_bf16_gemm(const float *x, size_t xstride, size_t tokens, const uint16_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            float s = 0;
            for (size_t i = 0; i < k; i++) s += bf16_decode(w[r * k + i]) * x[t * xstride + i];
            y[t * ystride + r] = s;
        }
}

void cqk_e4m3_gemm(const float *x, size_t xstride, size_t tokens, const uint8_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            float s = 0;
            for (size_t i = 0; i < k; i++) s += e4m3_decode(w[r * k + i]) * x[t * xstride + i];
            y[t * ystride + r] = s;
        }
}

void cqk_s8_gemm(const int8_t *x, size_t xstride, size_t tokens, const int8_t *w, size_t k,
                 size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride) {
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            int32_t s = 0;
            for (size_t i = 0; i < k; i++) s += (int32_t)w[r * k + i] * x[t * xstride + i];
            y[t * ystride + r] = s;
        }
}

void cqk_t2_gemm(const int8_t *x, size_t xstride, size_t tokens, const int32_t *xsum,
                 const uint8_t *w, size_t k, size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride) {
    (void)xsum;
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            int32_t s = 0;
            for (size_t i = 0; i < k; i++) {
                size_t block = i / 128, j = i % 128;
                int code = (w[r * (k / 4) + block * 32 + j % 32] >> (2 * (j / 32))) & 3;
                int8_t xv = x[t * xstride + i];
                if (code == 2) s += xv; else if (code == 0) s -= xv;
            }
            y[t * ystride + r] = s;
        }
}

void cqk_q4_gemm(const int8_t *xlo, const int8_t *xhi, const int16_t *xpairs, const float *xscales,
                 const int32_t *xlanes, size_t tokens, const uint8_t *w, const float *scales, size_t groups, size_t k,
                 size_t rowBegin, size_t rowEnd, float *y, size_t ystride) {
    (void)xlanes;
    (void)xpairs;
    for (size_t r = rowBegin; r < rowEnd; r++)
        for (size_t t = 0; t < tokens; t++) {
            float total[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (size_t g = 0; g < groups; g++) {
                int32_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                size_t end = (g + 1) * 128 < k ? (g + 1) * 128 : k;
                for (size_t i = g * 128; i < end; i++) {
                    size_t block = i / 64, j = i % 64;
                    uint8_t byte = w[r * (k / 2) + block * 32 + j % 32];
                    int q = (j < 32 ? (byte & 15) : (byte >> 4)) - 8;
                    int x16 = (int)(uint8_t)xlo[t * k + i] + 256 * (int)xhi[t * k + i];
                    acc[(i % 32) / 4] += q * x16;
                }
                float scale = scales[r * groups + g] * xscales[t * groups + g];
                for (int l = 0; l < 8; l++) total[l] = fmaf((float)acc[l], scale, total[l]);
            }
            y[t * ystride + r] = ((total[0] + total[4]) + (total[2] + total[6])) + ((total[1] + total[5]) + (total[3] + total[7]));
        }
}

void cqk_s8_sparse_gemv(const int32_t *idx, const int16_t *val, size_t nnz, const int8_t *wt, size_t ldw,
                        size_t colBegin, size_t colEnd, int32_t *y) {
    for (size_t o = colBegin; o < colEnd; o++) {
        int32_t s = 0;
        for (size_t p = 0; p < nnz; p++) s += (int32_t)val[p] * wt[(size_t)idx[p] * ldw + o];
        y[o] = s;
    }
}

#endif

// ---- activation quantizers ----

// The fixed-order |x| sum both languages share (see the header).
static float abs_sum_lanes(const float *x, size_t n) {
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t body = n / 8 * 8;
#if CQK_AVX2
    __m256 acc = _mm256_setzero_ps();
    const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (size_t i = 0; i < body; i += 8) acc = _mm256_add_ps(acc, _mm256_and_ps(_mm256_loadu_ps(x + i), mask));
    _mm256_storeu_ps(lane, acc);
#else
    for (size_t i = 0; i < body; i++) lane[i % 8] += fabsf(x[i]);
#endif
    float s = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    for (size_t i = body; i < n; i++) s += fabsf(x[i]);
    return s;
}

static float abs_max(const float *x, size_t n) {
    float m = 0;
    size_t i = 0;
#if CQK_AVX2
    __m256 acc = _mm256_setzero_ps();
    const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(acc, _mm256_and_ps(_mm256_loadu_ps(x + i), mask));
    float lane[8];
    _mm256_storeu_ps(lane, acc);
    for (int l = 0; l < 8; l++) m = lane[l] > m ? lane[l] : m;
#endif
    for (; i < n; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}

// codes = clamp(rne(x * factor), lo, hi); returns the sum of the codes.
static int32_t scale_round_clamp(const float *x, size_t n, float factor, int lo, int hi, int8_t *codes) {
    int32_t sum = 0;
    size_t i = 0;
#if CQK_AVX2
    const __m256 f = _mm256_set1_ps(factor);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i vlo = _mm256_set1_epi8((char)lo), vhi = _mm256_set1_epi8((char)hi);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (; i + 32 <= n; i += 32) {
        // vcvtps2dq rounds to nearest even (default MXCSR); the two saturating packs clamp to [-128, 127].
        __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), f));
        __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), f));
        __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 16), f));
        __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 24), f));
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
        p = _mm256_permutevar8x32_epi32(p, order);
        p = _mm256_min_epi8(_mm256_max_epi8(p, vlo), vhi);
        _mm256_storeu_si256((__m256i *)(codes + i), p);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, p), ones16));
    }
    sum = hsum_epi32(acc);
#endif
    for (; i < n; i++) {
        float r = rintf(x[i] * factor);
        int q = r < (float)lo ? lo : (r > (float)hi ? hi : (int)r);
        codes[i] = (int8_t)q;
        sum += q;
    }
    return sum;
}

float cqk_quantize_int8_absmax(const float *x, size_t n, float eps, int8_t *codes, int32_t *codeSum) {
    float gamma = abs_max(x, n);
    *codeSum = scale_round_clamp(x, n, 127.0f / (gamma + eps), -128, 127, codes);
    return gamma / 127.0f;
}

float cqk_quantize_int4_absmean(const float *x, size_t n, float eps, float sqrt7, int8_t *codes, int32_t *codeSum) {
    float beta = n == 0 ? 0 : abs_sum_lanes(x, n) / (float)n;
    *codeSum = scale_round_clamp(x, n, sqrt7 / (beta + eps), -8, 7, codes);
    return beta / sqrt7;
}

// Number of entries whose |x| bit pattern is >= t (bit patterns of non-negative floats order like the values).
static size_t count_at_least(const float *x, size_t n, uint32_t t) {
    size_t count = 0, i = 0;
#if CQK_AVX2
    const __m256i mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i below = _mm256_set1_epi32((int32_t)t - 1);
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), mask);
        count += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(u, below))));
    }
#endif
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        count += (u & 0x7fffffffu) >= t;
    }
    return count;
}

float cqk_quantize_top_half_int8(const float *x, size_t n, float eps, float *scratch, int8_t *codes,
                                 int32_t *codeSum) {
    size_t keep = n / 2;
    if (keep == 0) {
        memset(codes, 0, n);
        *codeSum = 0;
        return 0;
    }
    // The keep-th largest magnitude t (as bits: non-negative floats order like their bit patterns).
    // 1) Histogram of the top 11 bits (exponent + 3 mantissa bits) finds the bucket holding t.
    uint32_t hist[2048];
    memset(hist, 0, sizeof hist);
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u = (u & 0x7fffffffu) >> 20;
        hist[u]++;
        top = u > top ? u : top;
    }
    size_t above = 0;
    uint32_t bucket = top;
    while (above + hist[bucket] < keep) above += hist[bucket--];
    // 2) Collect that bucket's members (scratch, as bit patterns) and bisect their low 20 bits for
    //    the largest t with (members >= t) >= need.
    uint32_t *members = (uint32_t *)(void *)(scratch + n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u &= 0x7fffffffu;
        if (u >> 20 == bucket) members[m++] = u;
    }
    size_t need = keep - above;
    uint32_t t = bucket << 20;
    for (int bit = 19; bit >= 0; bit--) {
        uint32_t candidate = t | (1u << bit);
        size_t count = 0;
        for (size_t j = 0; j < m; j++) count += members[j] >= candidate;
        if (count >= need) t = candidate;
    }
    // Everything above t survives; entries equal to t fill the remaining places in index order.
    size_t ties = keep - (t == 0x7fffffffu ? 0 : count_at_least(x, n, t + 1));
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u &= 0x7fffffffu;
        int kept = u > t || (u == t && ties > 0);
        if (u == t && ties > 0) ties--;
        scratch[i] = kept ? x[i] : 0.0f;
    }
    return cqk_quantize_int8_absmax(scratch, n, eps, codes, codeSum);
}

// E4M3 value of v (any float), as fp32: spacing 2^(e-3) in binade e >= -6 (subnormals share e = -6);
// v * 2^(3-e) and back are exact power-of-two scalings, so one round-to-nearest-even does it all.
static float e4m3_round(float v) {
    float a = fabsf(v) < 448.0f ? fabsf(v) : 448.0f;
    uint32_t bits;
    memcpy(&bits, &a, 4);
    int e = (int)(bits >> 23) - 127;
    if (e < -6) e = -6;
    float up = ldexpf(1.0f, 3 - e), down = ldexpf(1.0f, e - 3);
    float r = rintf(a * up) * down;
    return v < 0 ? -r : r;
}

float cqk_quantize_e4m3(const float *x, size_t n, float *decoded) {
    float top = abs_max(x, n);
    float scale = top / 448.0f;
    if (!(scale > 0)) {
        memset(decoded, 0, n * sizeof(float));
        return 0;
    }
    size_t i = 0;
#if CQK_AVX2
    const __m256 s = _mm256_set1_ps(scale), cap = _mm256_set1_ps(448.0f);
    const __m256 signMask = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256i minExp = _mm256_set1_epi32(127 - 6);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        __m256 sign = _mm256_and_ps(v, signMask);
        __m256 a = _mm256_min_ps(_mm256_andnot_ps(signMask, v), cap);
        __m256i biased = _mm256_max_epi32(_mm256_srli_epi32(_mm256_castps_si256(a), 23), minExp);  // e + 127
        // 2^(3-e) has biased exponent 130 - (e + 127) + 127 - ... = 257 - biased; 2^(e-3) has biased - 3.
        __m256 up = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(_mm256_set1_epi32(257), biased), 23));
        __m256 down = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(biased, _mm256_set1_epi32(3)), 23));
        __m256 r = _mm256_mul_ps(_mm256_round_ps(_mm256_mul_ps(a, up), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), down);
        _mm256_storeu_ps(decoded + i, _mm256_or_ps(r, sign));
    }
#endif
    for (; i < n; i++) decoded[i] = e4m3_round(x[i] / scale);
    return scale;
}

// ---- W4A16 activations: per-group int16 codes as byte planes, with lane sums (see the header).

// Where code i of a row goes in the lane-ordered `pairs` layout.
static inline size_t pair_position(size_t i) {
    size_t e = i % 32, lane = e / 4, within = e % 4;
    return i - e + (within < 2 ? 2 * lane + within : 16 + 2 * lane + within - 2);
}

void cqk_quantize_int16_groups(const float *x, size_t n, size_t k, int8_t *lo, int8_t *hi, float *scales,
                               int32_t *lanes, int16_t *pairs) {
    size_t groups = (k + 127) / 128;
    for (size_t g = 0; g < groups; g++) {
        size_t start = g * 128, end = start + 128 < k ? start + 128 : k;
        // The group's values, zero past n (a copy only when the group runs past the real values).
        float padded[128];
        const float *v = x + start;
        if (end > n) {
            for (size_t i = start; i < end; i++) padded[i - start] = i < n ? x[i] : 0.0f;
            v = padded;
        }
        size_t len = end - start;
        float m = abs_max(v, len);
        float inv = m > 0 ? 32767.0f / m : 0.0f;
        scales[g] = m / 32767.0f;
        int32_t *lane = lanes + 8 * g;
        for (int l = 0; l < 8; l++) lane[l] = 0;
#if CQK_AVX2
        const __m256 f = _mm256_set1_ps(inv);
        const __m256i natural = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        __m256i sums = _mm256_setzero_si256();
        for (size_t o = 0; o < len; o += 32) {
            // vcvtps2dq rounds to nearest even; |x * inv| <= 32767 (+ rounding), packs saturates anyway.
            __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + o), f));
            __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + o + 8), f));
            __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + o + 16), f));
            __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + o + 24), f));
            __m256i w01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);  // codes 0..15, int16
            __m256i w23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q2, q3), 0xD8);  // codes 16..31
            const __m256i byte = _mm256_set1_epi16(0xff);
            __m256i l8 = _mm256_packus_epi16(_mm256_and_si256(w01, byte), _mm256_and_si256(w23, byte));
            __m256i h8 = _mm256_packs_epi16(_mm256_srai_epi16(w01, 8), _mm256_srai_epi16(w23, 8));
            _mm256_storeu_si256((__m256i *)(lo + start + o), _mm256_permute4x64_epi64(l8, 0xD8));
            _mm256_storeu_si256((__m256i *)(hi + start + o), _mm256_permute4x64_epi64(h8, 0xD8));
            if (pairs) {
                // int32 units (code pairs) 0 2 4 6 of each half, then 1 3 5 7.
                const __m256i evenOdd = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
                __m256i p01 = _mm256_permutevar8x32_epi32(w01, evenOdd), p23 = _mm256_permutevar8x32_epi32(w23, evenOdd);
                _mm256_storeu_si256((__m256i *)(pairs + start + o), _mm256_permute2x128_si256(p01, p23, 0x20));
                _mm256_storeu_si256((__m256i *)(pairs + start + o + 16), _mm256_permute2x128_si256(p01, p23, 0x31));
            }
            // Sums of four consecutive codes: two rounds of hadd give lanes (0 2 4 6 | 1 3 5 7).
            __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(q0, q1), _mm256_hadd_epi32(q2, q3));
            sums = _mm256_add_epi32(sums, _mm256_permutevar8x32_epi32(h, natural));
        }
        _mm256_storeu_si256((__m256i *)lane, sums);
#else
        for (size_t i = 0; i < len; i++) {
            float r = rintf(v[i] * inv);
            int q = r > 32767.0f ? 32767 : (r < -32768.0f ? -32768 : (int)r);
            lo[start + i] = (int8_t)(uint8_t)(q & 0xff);
            hi[start + i] = (int8_t)(q >> 8);
            if (pairs) pairs[pair_position(start + i)] = (int16_t)q;
            lane[(i % 32) / 4] += q;
        }
#endif
    }
}

// ---- attention of one query row (see the header)

#if CQK_AVX2
// e^x for x <= 88 (Cephes' expf polynomial, about 1 ulp); inputs below -87 give ~2^-126 instead of 0.
CQK_INLINE __m256 exp256(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif

/* Attention of one query row over n1 + n2 positions, one plain loop per step: the reference, and
 * the kernel for head sizes that are not a multiple of 8. */
// IEEE binary16 <-> fp32 in software (the portable path, and the reference of the F16C path).
static uint16_t f32_to_f16_bits(float f) {
    if (f > 65504.0f) f = 65504.0f;  // saturate (NaN compares false and stays NaN)
    if (f < -65504.0f) f = -65504.0f;
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff);
    if (ax < 0x38800000u) return sign | (uint16_t)rintf(fabsf(f) * 16777216.0f);  // subnormal: units of 2^-24
    ax += 0xfffu + ((ax >> 13) & 1u);  // round to nearest even at bit 13 (a carry bumps the exponent)
    return sign | (uint16_t)((ax - (112u << 23)) >> 13);
}

static float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        float v = (float)m * 5.9604644775390625e-8f;  // m * 2^-24, exact
        return sign ? -v : v;
    }
    bits = sign | (e == 31 ? 0x7f800000u | (m << 13) : ((e + 112) << 23) | (m << 13));
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

// Element i of a key/value row stored as fp32 (half = 0) or binary16 (half = 1).
static inline float kv_element(const void *row, size_t i, int half) {
    return half ? f16_bits_to_f32(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

static inline const void *kv_row(const void *base, size_t j, size_t kvstride, int half) {
    return half ? (const void *)((const uint16_t *)base + j * kvstride) : (const void *)((const float *)base + j * kvstride);
}

static void attend_portable(int half, const float *q, size_t hd, float scale, const void *k1, const void *v1, size_t n1,
                            const void *k2, const void *v2, size_t n2, size_t kvstride, float *scores, float *out) {
    size_t n = n1 + n2;
    float m = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        const void *key = j < n1 ? kv_row(k1, j, kvstride, half) : kv_row(k2, j - n1, kvstride, half);
        float s = 0;
        for (size_t d = 0; d < hd; d++) s += q[d] * kv_element(key, d, half);
        s *= scale;
        scores[j] = s;
        m = s > m ? s : m;
    }
    float sum = 0;
    for (size_t j = 0; j < n; j++) {
        scores[j] = expf(scores[j] - m);
        sum += scores[j];
    }
    float inv = 1.0f / sum;
    for (size_t d = 0; d < hd; d++) out[d] = 0;
    for (size_t j = 0; j < n; j++) {
        const void *value = j < n1 ? kv_row(v1, j, kvstride, half) : kv_row(v2, j - n1, kvstride, half);
        float p = scores[j] * inv;
        for (size_t d = 0; d < hd; d++) out[d] += p * kv_element(value, d, half);
    }
}

void cqk_f32_to_f16(const float *x, size_t n, uint16_t *out) {
    size_t i = 0;
#if CQK_F16C
    const __m256 limit = _mm256_set1_ps(65504.0f), negative = _mm256_set1_ps(-65504.0f);
    for (; i + 8 <= n; i += 8) {
        // min/max return their second operand when it is NaN, so NaN passes through.
        __m256 v = _mm256_max_ps(negative, _mm256_min_ps(limit, _mm256_loadu_ps(x + i)));
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
    for (; i < n; i++) out[i] = f32_to_f16_bits(x[i]);
}

void cqk_f16_to_f32(const uint16_t *h, size_t n, float *out) {
    size_t i = 0;
#if CQK_F16C
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
    for (; i < n; i++) out[i] = f16_bits_to_f32(h[i]);
}

#if CQK_AVX2
// Eight elements of a key/value row (fp32, or binary16 widened exactly by F16C).
CQK_INLINE __m256 kv_load8(const void *row, size_t i, int half) {
#if CQK_F16C
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
#endif
    return _mm256_loadu_ps((const float *)row + i);
}

CQK_INLINE __m256 key_dot(const float *q, const void *key, size_t hd, int half) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    size_t d = 0;
    for (; d + 16 <= hd; d += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(key, d, half), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), kv_load8(key, d + 8, half), a1);
    }
    if (d < hd) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(key, d, half), a0);
    return _mm256_add_ps(a0, a1);
}

// Scaled dot products of q with `count` keys (`kvstride` apart) into `scores`; returns the largest of
// them and `m`. Each key's sum runs in two 8-lane accumulators, then
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) like `hsum_ps`; four keys share one transposed reduction.
CQK_INLINE float attend_scores(int half, const float *q, size_t hd, float scale, const void *keys, size_t count,
                               size_t kvstride, float *scores, float m) {
    __m128 mv = _mm_set1_ps(m);
    size_t j = 0;
    for (; j + 4 <= count; j += 4) {
        __m128 x[4];
        for (int i = 0; i < 4; i++) {
            __m256 v = key_dot(q, kv_row(keys, j + i, kvstride, half), hd, half);
            x[i] = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        }
        _MM_TRANSPOSE4_PS(x[0], x[1], x[2], x[3]);
        __m128 s = _mm_mul_ps(_mm_add_ps(_mm_add_ps(x[0], x[2]), _mm_add_ps(x[1], x[3])), _mm_set1_ps(scale));
        _mm_storeu_ps(scores + j, s);
        mv = _mm_max_ps(mv, s);
    }
    float lane[4];
    _mm_storeu_ps(lane, mv);
    for (int i = 0; i < 4; i++) m = lane[i] > m ? lane[i] : m;
    for (; j < count; j++) {
        float s = hsum_ps(key_dot(q, kv_row(keys, j, kvstride, half), hd, half)) * scale;
        scores[j] = s;
        m = s > m ? s : m;
    }
    return m;
}

#endif

CQK_INLINE void attend(int half, const float *q, size_t hd, float scale, const void *k1, const void *v1, size_t n1,
                       const void *k2, const void *v2, size_t n2, size_t kvstride, float *scores, float *out) {
#if CQK_AVX2
    if (hd % 8 == 0 && (!half || CQK_F16C)) {
        size_t n = n1 + n2;
        float m = attend_scores(half, q, hd, scale, k1, n1, kvstride, scores, -INFINITY);
        m = attend_scores(half, q, hd, scale, k2, n2, kvstride, scores + n1, m);
        // Exponentials eight at a time (the tail through a padded copy, so every score takes the same path).
        __m256 mv = _mm256_set1_ps(m), sumv = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), mv));
            _mm256_storeu_ps(scores + j, e);
            sumv = _mm256_add_ps(sumv, e);
        }
        float sum = hsum_ps(sumv);
        if (j < n) {
            float tail[8];
            for (size_t i = 0; i < 8; i++) tail[i] = j + i < n ? scores[j + i] : m;
            _mm256_storeu_ps(tail, exp256(_mm256_sub_ps(_mm256_loadu_ps(tail), mv)));
            for (size_t i = 0; j + i < n; i++) {
                scores[j + i] = tail[i];
                sum += tail[i];
            }
        }
        float inv = 1.0f / sum;
        // out = sum_j p_j v_j, 64 dimensions (eight registers) at a time.
        for (size_t d0 = 0; d0 < hd; d0 += 64) {
            size_t width = hd - d0 < 64 ? hd - d0 : 64;
            __m256 acc[8];
            for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
            for (size_t jj = 0; jj < n; jj++) {
                const void *value = jj < n1 ? kv_row(v1, jj, kvstride, half) : kv_row(v2, jj - n1, kvstride, half);
                __m256 p = _mm256_set1_ps(scores[jj] * inv);
                if (width == 64) {
                    for (int i = 0; i < 8; i++) acc[i] = _mm256_fmadd_ps(p, kv_load8(value, d0 + 8 * i, half), acc[i]);
                } else {
                    for (size_t i = 0; i < width / 8; i++) acc[i] = _mm256_fmadd_ps(p, kv_load8(value, d0 + 8 * i, half), acc[i]);
                }
            }
            for (size_t i = 0; i < width / 8; i++) _mm256_storeu_ps(out + d0 + 8 * i, acc[i]);
        }
        return;
    }
#endif
    attend_portable(half, q, hd, scale, k1, v1, n1, k2, v2, n2, kvstride, scores, out);
}

void cqk_attend(const float *q, size_t hd, float scale, const float *k1, const float *v1, size_t n1, const float *k2,
                const float *v2, size_t n2, size_t kvstride, float *scores, float *out) {
    attend(0, q, hd, scale, k1, v1, n1, k2, v2, n2, kvstride, scores, out);
}

void cqk_attend_f16(const float *q, size_t hd, float scale, const uint16_t *k1, const uint16_t *v1, size_t n1,
                    const uint16_t *k2, const uint16_t *v2, size_t n2, size_t kvstride, float *scores, float *out) {
    attend(1, q, hd, scale, k1, v1, n1, k2, v2, n2, kvstride, scores, out);
}

// The first instruction-set extension this build was compiled to use that the CPU lacks, or NULL.
// Only integer code and CPUID run here, so it is safe to call on any x86-64 CPU.
const char *cqk_missing_cpu_feature(void) {
#if defined(__x86_64__) && CQK_AVX2
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return "AVX2";
    if (!__builtin_cpu_supports("fma")) return "FMA";
#endif
#if defined(__x86_64__) && CQK_F16C
    if (!__builtin_cpu_supports("f16c")) return "F16C";
#endif
    return NULL;
}
