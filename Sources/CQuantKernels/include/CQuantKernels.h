// Quantized matrix kernels for QuorumQuant: AVX2/FMA (and F16C) intrinsics on x86-64 when the compiler
// targets them (`-mavx2 -mfma -mf16c`), a portable scalar loop everywhere else.
//
// Shared conventions:
// - Weights are row-major, one row per output feature, each row `k` elements long, where `k` is
//   already padded by the caller to the multiple the kernel names (padding holds zero weights).
// - Activations are `tokens` rows of `k` elements, row `t` starting at `x + t * xstride` (also zero
//   padded up to `k`).
// - Only output rows `[rowBegin, rowEnd)` are computed; results go to `y[t * ystride + row]`, so two
//   threads can fill disjoint row ranges of the same output.
#ifndef CQUANTKERNELS_H
#define CQUANTKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this build uses the AVX2/FMA code paths, 0 for the portable scalar fallback.
int cqk_simd_enabled(void);

/// The first instruction-set extension (`"AVX2"`, `"FMA"`, `"F16C"`) this build uses that the CPU
/// lacks, or NULL when it has them all. Safe to call on any CPU.
const char *cqk_missing_cpu_feature(void);

/// A piece of parallel work: `task(context, chunk)`.
typedef void (*cqk_task)(void *context, size_t chunk);

/// Runs `task(context, i)` for every i in [0, chunks) on a persistent pool (one worker thread per
/// extra core, created on first use) and the calling thread; returns when all have finished. Chunks are
/// handed out one at a time, so a worker that is not scheduled (a busy machine) never holds up the
/// caller, which then runs the chunks itself. Workers spin briefly for the next job, then sleep.
/// Calls from several threads are serialised; `task` must not call `cqk_parallel` itself.
void cqk_parallel(cqk_task task, void *context, size_t chunks);

/// Worker threads of the pool (0 on a single core).
int cqk_pool_workers(void);

/// fp32 weights times fp32 activations; `k` a multiple of 16.
void cqk_f32_gemm(const float *x, size_t xstride, size_t tokens, const float *w, size_t k,
                  size_t rowBegin, size_t rowEnd, float *y, size_t ystride);

/// bfloat16 weights (raw 16-bit patterns) times fp32 activations, fp32 arithmetic; `k` a multiple of 16.
void cqk_bf16_gemm(const float *x, size_t xstride, size_t tokens, const uint16_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride);

/// FP8 E4M3 weight codes, decoded exactly to fp32, times fp32 activations (which the caller has
/// already rounded to E4M3 values); no scales applied. `k` a multiple of 16. Code 0x7f/0xff (NaN)
/// must not occur: the encoder saturates.
void cqk_e4m3_gemm(const float *x, size_t xstride, size_t tokens, const uint8_t *w, size_t k,
                   size_t rowBegin, size_t rowEnd, float *y, size_t ystride);

/// int8 weights (in [-127, 127]) times int8 activations (any int8), exact int32 sums;
/// `k` a multiple of 32.
void cqk_s8_gemm(const int8_t *x, size_t xstride, size_t tokens, const int8_t *w, size_t k,
                 size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride);

/// Ternary weights packed 2 bits each (code = t + 1 in {0, 1, 2}; in each 128-weight block of 32
/// bytes, byte j holds weights j, j+32, j+64, j+96 in bits 0-1, 2-3, 4-5, 6-7) times int8
/// activations (any int8); exact int32 sums. `xsum[t]` is the sum of activation row t (the
/// kernel computes sum(code * x) - sum(x)). `k` a multiple of 128; a row has k/4 bytes.
void cqk_t2_gemm(const int8_t *x, size_t xstride, size_t tokens, const int32_t *xsum,
                 const uint8_t *w, size_t k, size_t rowBegin, size_t rowEnd, int32_t *y, size_t ystride);

/// W4A16 activations for `cqk_q4_gemm`: per group of 128 elements (the last group of a row may hold 64),
/// int16 codes q = rne(x * (32767 / m)) with m = max|x| over the group (all codes 0 when m = 0), stored
/// as two byte planes `lo[i] = q & 0xff` and `hi[i] = q >> 8` (arithmetic shift), the group scale
/// m / 32767 in `scales[g]`, and eight lane sums of the codes per group in `lanes[8 g + L]` (lane L sums
/// the elements whose index within their 32-element vector is 4L..4L+3). Unless `pairs` is NULL, the
/// codes are also written whole, in lane order: per 32-element vector v, `pairs[32 v ..]` holds
/// elements 0 1 4 5 8 9 … 28 29 of v, then 2 3 6 7 … 30 31 (so int32 lane L of either half holds two
/// of lane L's elements; the several-token kernel multiplies them with `vpmaddwd`). `x` holds `n`
/// values; codes n..k-1 are 0; `k` a multiple of 64; `ceil(k / 128)` groups.
void cqk_quantize_int16_groups(const float *x, size_t n, size_t k, int8_t *lo, int8_t *hi, float *scales,
                               int32_t *lanes, int16_t *pairs);

/// Int4 weights, two per byte (stored as c = q + 8; in each 64-weight block of 32 bytes, byte j holds
/// weight j in its low nibble and weight j+32 in its high nibble), one fp32 scale per group of 128
/// (`groups` = ceil(k / 128) per row), times activations prepared by `cqk_quantize_int16_groups`
/// (token t's planes at `xlo/xhi + t * k`, lane-ordered codes at `xpairs + t * k` — needed when
/// `tokens` > 1, may be NULL for one token — scales at `xscales + t * groups`, lane sums at
/// `xlanes + 8 * t * groups`). Per group and lane L (elements 4L..4L+3 of every 32-element vector of
/// the group) the exact integer a = sum((c - 8) * x16); per lane tot = fma((float)a, ws * xs, tot) over
/// the groups in order (ws * xs rounded to fp32); y = ((t0+t4)+(t2+t6)) + ((t1+t5)+(t3+t7)). A
/// token's result never depends on the other tokens or rows of the call. `k` a multiple of 64.
void cqk_q4_gemm(const int8_t *xlo, const int8_t *xhi, const int16_t *xpairs, const float *xscales,
                 const int32_t *xlanes, size_t tokens, const uint8_t *w, const float *scales, size_t groups, size_t k,
                 size_t rowBegin, size_t rowEnd, float *y, size_t ystride);

/// Attention of one query row of one head over `n1` keys/values (`k1`, `v1`) followed by `n2` more
/// (`k2`, `v2`), key j of a part at `k + j * kvstride`: out = sum_j softmax_j(q . k_j * scale) v_j, keys
/// in that order (any `hd`; the vector path needs a multiple of 8); `scores` has room for n1 + n2 floats; n1 + n2 >= 1.
void cqk_attend(const float *q, size_t hd, float scale, const float *k1, const float *v1, size_t n1, const float *k2,
                const float *v2, size_t n2, size_t kvstride, float *scores, float *out);

/// `cqk_attend` with keys and values stored as IEEE binary16 bits (`kvstride` in elements), widened
/// exactly to fp32; the same arithmetic in the same order after that.
void cqk_attend_f16(const float *q, size_t hd, float scale, const uint16_t *k1, const uint16_t *v1, size_t n1,
                    const uint16_t *k2, const uint16_t *v2, size_t n2, size_t kvstride, float *scores, float *out);

/// fp32 to IEEE binary16 bits, rounding to nearest even; magnitudes above 65504 saturate to ±65504
/// (never infinity), NaN stays NaN.
void cqk_f32_to_f16(const float *x, size_t n, uint16_t *out);

/// IEEE binary16 bits to fp32 (exact).
void cqk_f16_to_f32(const uint16_t *h, size_t n, float *out);

/// Zero-skipping int8 product for one token: `y[o] = sum_p val[p] * wt[idx[p] * ldw + o]` for
/// o in [colBegin, colEnd), over the `nnz` nonzero activations only. `wt` is the weight matrix
/// stored column-major (one `ldw`-byte column per input feature, int8 in [-127, 127]); `nnz` even
/// (pad with a zero value), `ldw`, `colBegin` and `colEnd` multiples of 16. Exact int32 sums.
void cqk_s8_sparse_gemv(const int32_t *idx, const int16_t *val, size_t nnz, const int8_t *wt, size_t ldw,
                        size_t colBegin, size_t colEnd, int32_t *y);

// ---- per-token activation quantizers (BitNet a4.8). Each writes `n` int8 codes, stores the sum of
// the codes in *codeSum and returns the scale. Sums of |x| run in 8 interleaved fp32 lanes (lane
// i % 8), combined as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the tail n % 8 in index order;
// the Swift references in QuorumQuant use the same order, so results agree bit for bit.

/// INT8 absmax: gamma = max|x|; codes = clamp(rne(x * (127 / (gamma + eps))), -128, 127); returns gamma / 127.
float cqk_quantize_int8_absmax(const float *x, size_t n, float eps, int8_t *codes, int32_t *codeSum);

/// INT4 absmean: beta = sum|x| / n; codes = clamp(rne(x * (sqrt7 / (beta + eps))), -8, 7); returns
/// beta / sqrt7 (`sqrt7` passed in so both languages use the same fp32 constant).
float cqk_quantize_int4_absmean(const float *x, size_t n, float eps, float sqrt7, int8_t *codes, int32_t *codeSum);

/// Top-50 %: keep the floor(n/2) entries of largest |x| (ties: lower index first), zero the rest,
/// then INT8 absmax. `scratch` must hold 2n floats. Returns the INT8 scale.
float cqk_quantize_top_half_int8(const float *x, size_t n, float eps, float *scratch, int8_t *codes,
                                 int32_t *codeSum);

/// FP8 E4M3 per token, emulated: scale = max|x| / 448; writes the E4M3 value of x / scale
/// (round to nearest even, saturating at 448, subnormals below 2^-6) as fp32, i.e. the decoded code;
/// returns the scale (0 for an all-zero row, whose outputs are then 0).
float cqk_quantize_e4m3(const float *x, size_t n, float *decoded);

#ifdef __cplusplus
}
#endif

#endif
