// QuorumQuant — serving formats for the linear layers inside transformer blocks (docs/papers.md §2, §3).
//
// Entry point: `QuantizedLinear(weights:outFeatures:inFeatures:format:)`, then
// `forward(x:into:)` with `tokens × inFeatures` fp32 rows. Formats (`QuantFormat`):
//
// | format                  | weights (PackedMatrix.Layout)             | activations (per token)      | sums   |
// |-------------------------|-------------------------------------------|------------------------------|--------|
// | fp32                    | fp32                                      | fp32                         | fp32   |
// | bf16                    | bfloat16, RNE                             | fp32                         | fp32   |
// | w8a8Int                 | int8, symmetric per output channel        | int8 absmax                  | int32  |
// | w8a8FP                  | FP8 E4M3 per output channel (emulated)    | E4M3, scale max/448          | fp32   |
// | w4a16Int                | int4, groups of 128, MSE-clipped scale    | fp32                         | fp32   |
// | ternary(.int8Absmax)    | ternary absmean, 2 bits, one α per tensor | INT8 absmax (b1.58, a4.8 down)| int32 |
// | ternary(.int4Absmean)   | same                                      | INT4 absmean (a4.8 qkv, up/gate) | int32 |
// | ternary(.topHalfInt8)   | same                                      | top-50 % then INT8 (a4.8 o-proj) | int32 |
//
// Rounding is round-half-to-even everywhere. Every optimised path has a scalar reference:
// `QuantizedLinear.forwardReference`, `Kernels.*Reference`, the `Quantize` functions (references for
// the AVX2 activation quantizers), and the portable loops in CQuantKernels / PortableKernels.swift.
// Integer formats match their references bit for bit.
