/*
 * TinyFleet int8 kernel library (C99, no malloc, freestanding apart from memcpy/memset/roundf).
 *
 * Semantics are TFLite's int8 reference kernels, bit for bit with TinyFleet's TypeScript runtime:
 * per-channel symmetric weights, asymmetric activations, int32 bias, requantization with
 * SaturatingRoundingDoublingHighMul + RoundingDivideByPOT ("double rounding", TFLite Micro) or, for
 * CONV_2D and FULLY_CONNECTED in `tflite` mode, ruy's single rounding `(x*M + 2^(s-1)) >> s`.
 * SOFTMAX and LOGISTIC are TFLite's float tables in `tflite` mode (tf_softmax_s8, tf_lut_s8) and
 * TFLite Micro's gemmlowp fixed point in `tflm` mode (tf_softmax_tflm_s8, tf_logistic_s8).
 *
 * Spatial kernels work on views so that patch-based inference can run them on parts of a tensor:
 * a view is a buffer holding rows [y0, y0+bh) and columns [x0, x0+bw) of a full H x W x C tensor,
 * and a region names the output pixels to compute. Taps outside the full tensor are padding
 * (they contribute nothing, as in TFLite); taps inside the tensor must be inside the input view.
 */
#ifndef TF_KERNELS_H
#define TF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How CONV_2D and FULLY_CONNECTED requantize their accumulators. */
typedef enum {
  TF_ROUND_TFLM = 0,  /* double rounding (TFLite Micro, CMSIS-NN) */
  TF_ROUND_TFLITE = 1 /* single rounding (TFLite through ruy) */
} tf_rounding;

/* ---- fixed-point primitives (TFLite/gemmlowp) ---- */
int32_t tf_srdhm(int32_t a, int32_t b);
int32_t tf_rdbypot(int32_t x, int32_t exponent);
/** MultiplyByQuantizedMultiplier with double rounding. */
int32_t tf_mbqm(int32_t x, int32_t multiplier, int32_t shift);
/** MultiplyByQuantizedMultiplier with single rounding (ruy). */
int32_t tf_mbqm_single(int32_t x, int32_t multiplier, int32_t shift);
/** Requantization chosen by rounding mode. */
int32_t tf_requant(int32_t x, int32_t multiplier, int32_t shift, tf_rounding rounding);

/** A buffer holding part (or all) of an H x W x C int8 tensor. */
typedef struct {
  int32_t h, w, c;  /* full tensor */
  int32_t y0, x0;   /* first row/column held by the buffer */
  int32_t bh, bw;   /* rows/columns held by the buffer */
} tf_view;

/** Output pixels [y0, y1) x [x0, x1) in full-tensor coordinates. */
typedef struct {
  int32_t y0, y1, x0, x1;
} tf_region;

/** CONV_2D / DEPTHWISE_CONV_2D constants. */
typedef struct {
  int32_t kh, kw;
  int32_t stride_h, stride_w;
  int32_t dil_h, dil_w;
  int32_t pad_top, pad_left;
  int32_t depth_multiplier; /* depthwise only */
  int32_t in_offset;        /* -input zero point */
  int32_t out_offset;       /* output zero point */
  int32_t act_min, act_max;
  const int8_t *filter;     /* conv: OHWI; depthwise: 1 x KH x KW x C_out */
  const int32_t *bias;      /* C_out entries or NULL */
  const int32_t *mult;      /* per output channel */
  const int32_t *shift;     /* per output channel */
  tf_rounding rounding;
  /* conv only (their `bias` is NULL): bias + in_offset * (sum of the output channel's weights) */
  const int32_t *folded_bias;
} tf_conv_params;

/** General convolution (any kernel, stride, dilation, padding). */
void tf_conv_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                const tf_region *r);
/** 1x1 convolution without padding (pointwise), any stride. */
void tf_conv1x1_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r);
/** 3x3 convolution, no dilation. */
void tf_conv3x3_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r);
/** Depthwise convolution, any depth multiplier; output must not overlap the input. */
void tf_dwconv_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                  const tf_region *r);
/**
 * In-place depthwise (depth multiplier 1): the output overwrites the input buffer `buf`, channel by
 * channel. The channel's padded plane is plane_h x plane_w bytes (the view placed at row pad_top and
 * column pad_left, everything else the input zero point). With ring_rows 0 the whole plane is copied
 * into `plane` before the channel's outputs; otherwise `plane` is a ring of ring_rows rows, each
 * plane row copied just before the first output row that reads it. The caller chooses ring_rows
 * (the TS runtime's depthwiseInPlaceScratch) so that no output overwrites an input row not yet
 * copied; output channel c only lands on bytes of input channel c. `plane` holds
 * (ring_rows ? ring_rows : plane_h) * plane_w bytes.
 */
void tf_dwconv_inplace_s8(const tf_conv_params *p, int8_t *buf, const tf_view *iv, const tf_view *ov,
                          const tf_region *r, int32_t plane_h, int32_t plane_w, int32_t ring_rows, int8_t *plane);

/** FULLY_CONNECTED constants. */
typedef struct {
  int32_t in_dim, out_dim, batches;
  int32_t in_offset, filter_offset, out_offset;
  int32_t act_min, act_max;
  const int8_t *filter;  /* out_dim x in_dim */
  const int32_t *bias;   /* out_dim entries or NULL */
  const int32_t *mult;   /* per_channel ? out_dim : 1 */
  const int32_t *shift;
  int32_t per_channel;
  tf_rounding rounding;
} tf_fc_params;

void tf_fully_connected_s8(const tf_fc_params *p, const int8_t *in, int8_t *out);

/** AVERAGE_POOL_2D / MAX_POOL_2D constants (output quantization equals the input's). */
typedef struct {
  int32_t kh, kw, stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} tf_pool_params;

void tf_avgpool_s8(const tf_pool_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r);
void tf_maxpool_s8(const tf_pool_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r);

/** Up to 4-D broadcast: output dims and element strides of both inputs (0 on broadcast axes). */
typedef struct {
  int32_t dims[4];
  int32_t stride_a[4];
  int32_t stride_b[4];
} tf_broadcast;

/** ADD constants (TFLite's int8 Add: left shift 20, both inputs rescaled to twice the larger scale). */
typedef struct {
  int32_t in1_offset, in2_offset, out_offset;
  int32_t left_shift;
  int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
  int32_t act_min, act_max;
} tf_add_params;

void tf_add_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n);
void tf_add_bcast_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc);

/** MUL constants. */
typedef struct {
  int32_t in1_offset, in2_offset, out_offset;
  int32_t out_mult, out_shift;
  int32_t act_min, act_max;
} tf_mul_params;

void tf_mul_s8(const tf_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n);
void tf_mul_bcast_s8(const tf_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc);

/** BATCH_MATMUL constants: per output batch the element offset of each operand's matrix. */
typedef struct {
  int32_t batches, rows, cols, depth;
  int32_t adj_x, adj_y; /* operand stored transposed (last two dimensions) */
  int32_t lhs_zero_point, rhs_zero_point, out_zero_point;
  int32_t mult, shift;
  tf_rounding rounding; /* TFLite runs it through ruy (single rounding) */
  const int32_t *lhs_offsets;
  const int32_t *rhs_offsets;
} tf_batch_matmul_params;
void tf_batch_matmul_s8(const tf_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out);

/** SUB (TFLite's int8 Sub: ADD's constants, the second rescaled input subtracted). */
void tf_sub_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n);
void tf_sub_bcast_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc);

/** SQUARED_DIFFERENCE constants (left shift 7, inputs rescaled to twice the larger scale). */
typedef struct {
  int32_t in1_offset, in2_offset, out_offset;
  int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
} tf_sqdiff_params;
void tf_squared_difference_bcast_s8(const tf_sqdiff_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                                    const tf_broadcast *bc);

/** MAXIMUM / MINIMUM of raw int8 values (inputs and output share one quantization). */
void tf_maximum_bcast_s8(const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc);
void tf_minimum_bcast_s8(const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc);

/** PRELU constants: input/output and input*alpha/output multipliers (TFLite's prelu.cc). */
typedef struct {
  int32_t in_offset, alpha_offset, out_offset;
  int32_t mult1, shift1, mult2, shift2;
} tf_prelu_params;
void tf_prelu_bcast_s8(const tf_prelu_params *p, const int8_t *in, const int8_t *alpha, int8_t *out,
                       const tf_broadcast *bc);

/**
 * SOFTMAX along rows of `depth` (TFLite's int8 kernel, PopulateSoftmaxLookupTable): table[255 - d]
 * = expf(-input_scale * beta * d), a float32 sum, output round(p / output_scale) + zero point, all in
 * float32 arithmetic (C99 float evaluation, no contraction: build with -std=c99).
 */
void tf_softmax_s8(const float *table, float output_scale, int32_t out_zero_point, const int8_t *in, int8_t *out,
                   int32_t rows, int32_t depth);
/** The same with an int16 output (TFLite's int8 -> int16 SOFTMAX). */
void tf_softmax_s8_s16(const float *table, float output_scale, int32_t out_zero_point, const int8_t *in, int16_t *out,
                       int32_t rows, int32_t depth);

/** TFLite Micro's SOFTMAX constants (softmax_common.cc, CalculateSoftmaxParams for int8). */
typedef struct {
  int32_t input_multiplier; /* beta * input_scale into Q5.26 (PreprocessSoftmaxScaling) */
  int32_t input_left_shift;
  int32_t diff_min;         /* differences to the row maximum below this contribute nothing */
} tf_softmax_tflm_params;

/**
 * SOFTMAX along rows of `depth` as TFLite Micro computes it (reference_ops::Softmax for int8, the
 * `tflm` rounding mode): differences to the row maximum rescaled to Q5.26, gemmlowp's
 * exp_on_negative_values, the sum in Q12.19, GetReciprocal, output scale 1/256 and zero point -128.
 * Where TFLite Micro aborts (TFLITE_CHECK: a row's exponentials sum to 512 or more) it runs
 * TF_ABORT(), by default an endless loop; build with -DTF_ABORT=... to do something else.
 */
void tf_softmax_tflm_s8(const tf_softmax_tflm_params *p, const int8_t *in, int8_t *out, int32_t rows, int32_t depth);
/** The same with an int16 output (zero point -32768: 2^16 * p - 32768), as keyword models end. */
void tf_softmax_tflm_s8_s16(const tf_softmax_tflm_params *p, const int8_t *in, int16_t *out, int32_t rows,
                            int32_t depth);

/** LOG_SOFTMAX constants (TFLite's LogSoftmaxPrepare for int8). */
typedef struct {
  int32_t input_multiplier;   /* input_scale into Q5.26 (PreprocessLogSoftmaxScalingExp) */
  int32_t input_left_shift;
  int32_t reverse_multiplier; /* Q5.26 back onto the input scale */
  int32_t reverse_shift;      /* its left shift, <= 0 */
  int32_t diff_min;           /* differences to the row maximum below this contribute nothing */
} tf_log_softmax_params;

/**
 * LOG_SOFTMAX along rows of `depth` as TFLite and TFLite Micro compute it for int8
 * (reference_integer_ops::LogSoftmax, in both rounding modes): the sum of exponentials in Q12.19, its
 * logarithm in Q5.26, output scale 16/256 and zero point 127.
 */
void tf_log_softmax_s8(const tf_log_softmax_params *p, const int8_t *in, int8_t *out, int32_t rows, int32_t depth);

/** TFLite Micro's LOGISTIC constants (logistic_common.cc for int8). */
typedef struct {
  int32_t in_zero_point;
  int32_t range_radius; /* |x - zero point| at or beyond it saturates */
  int32_t multiplier;   /* input scale into Q4.27 */
  int32_t left_shift;
} tf_logistic_params;

/**
 * LOGISTIC as TFLite Micro computes it (reference_integer_ops::Logistic for int8, the `tflm` rounding
 * mode): gemmlowp's fixed-point logistic on Q4.27, output scale 1/256 and zero point -128.
 */
void tf_logistic_s8(const tf_logistic_params *p, const int8_t *in, int8_t *out, int32_t n);

/** MEAN over H and W of an NHWC tensor (TFLite's two integer paths, see tf_mean_spatial_s8). */
typedef struct {
  int32_t tflm;          /* 1: reference_integer_ops::Mean (TFLM); 0: optimized_integer_ops::Mean (TFLite) */
  int32_t in_zero_point, out_zero_point;
  int32_t mult, shift;
  int32_t bias;          /* TFLite path: output zp minus the rounded input zp in output units */
} tf_mean_params;

void tf_mean_spatial_s8(const tf_mean_params *p, const int8_t *in, int8_t *out, int32_t batches, int32_t hw,
                        int32_t channels);
/** MEAN over a contiguous block of axes with equal in/out quantization: sum / count, truncated. */
void tf_mean_generic_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t count, int32_t inner);

/** Any int8 -> int8 elementwise function as a 256-entry table indexed by (x + 128). */
void tf_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n);
/** tf_lut_s8 for a function defined from `min` up (RSQRT): a smaller input runs TF_ABORT(), where TFLite fails. */
void tf_lut_from_s8(const int8_t *table, int32_t min, const int8_t *in, int8_t *out, int32_t n);
/** int8 -> float32 through a 256-entry table (DEQUANTIZE). */
void tf_lut_s8_f32(const float *table, const int8_t *in, float *out, int32_t n);
/** float32 -> int8 (QUANTIZE, TFLite's AffineQuantize): round(x / scale) in double, plus the zero point. */
void tf_quantize_f32_s8(double scale, int32_t zero_point, const float *in, int8_t *out, int32_t n);

/** Integer element types of QUANTIZE and of an SVDF's state. */
typedef enum { TF_INT8 = 0, TF_UINT8 = 1, TF_INT16 = 2, TF_INT32 = 3 } tf_int_type;

/** QUANTIZE between integer types (TFLite's Requantize). */
typedef struct {
  int32_t in_zero_point, out_zero_point;
  int32_t mult, shift; /* input_scale / output_scale */
} tf_requant_params;

/** (x - in_zero_point) rescaled with double rounding, plus out_zero_point, clamped to the output type. */
void tf_requantize(const tf_requant_params *p, const void *in, tf_int_type in_type, void *out, tf_int_type out_type,
                   int32_t n);

/** Integer SVDF constants (TFLite Micro's PrepareSvdf for an int8 input). */
typedef struct {
  int32_t batches, input_size, filters, units, rank, memory;
  int32_t in_zero_point, state_zero_point, out_zero_point;
  int32_t feature_mult, feature_shift; /* input * feature / state scale */
  int32_t out_mult, out_shift;         /* state * time / output scale */
  tf_int_type state_type;              /* TF_INT8 or TF_INT16: the state's and the time weights' type */
  const int8_t *weights_feature;       /* filters x input_size */
  const void *weights_time;            /* filters x memory, of state_type */
  const int32_t *bias;                 /* units entries or NULL */
} tf_svdf_params;

/**
 * One SVDF step as TFLite Micro's EvalIntegerSvdfReference: shifts the state (batches x filters x
 * memory, of state_type) left by one, writes the rescaled feature matmul into the newest column,
 * dots every filter's memory with its time weights, adds the bias, sums `rank` filters per unit and
 * rescales to int8. `scratch` holds batches * (filters + units) int32 values. The state must hold its
 * zero point before the first step (tf_model_reset).
 */
void tf_svdf(const tf_svdf_params *p, const int8_t *in, void *state, int8_t *out, int32_t *scratch);

/** PAD of a 4-D tensor with a constant byte value; elem_bytes is the element size. */
void tf_pad(const uint8_t *in, const int32_t in_dims[4], const int32_t before[4], const int32_t after[4],
            uint8_t *out, int32_t elem_bytes, const uint8_t *value);

/** CONCATENATION: `count` inputs, each copied as outer x (inner_i elements) chunks. */
void tf_concat(const uint8_t *const *inputs, const int32_t *inner_bytes, int32_t count, int32_t outer,
               uint8_t *out);

/** RESIZE_NEAREST_NEIGHBOR with precomputed source rows/columns. */
void tf_resize_nearest(const uint8_t *in, int32_t in_w, int32_t channel_bytes, const int32_t *src_y,
                       const int32_t *src_x, int32_t out_h, int32_t out_w, int32_t batches, int32_t in_h,
                       uint8_t *out);

/** TRANSPOSE of up to 6 dims: out[i] = in[sum idx_k * in_stride[perm[k]]]. */
void tf_transpose(const uint8_t *in, const int32_t *out_dims, const int32_t *in_strides_perm, int32_t rank,
                  int32_t elem_bytes, uint8_t *out);

/**
 * A strided read (STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK; up to 8 dims): output element (i0..in) is
 * input element start + sum(ik * strides[k]); start and strides in elements, strides may be negative.
 */
void tf_strided_copy(const uint8_t *in, int32_t start, const int32_t *dims, const int32_t *strides, int32_t rank,
                     int32_t elem_bytes, uint8_t *out);

/**
 * GATHER (batch_dims 0): for each of `outer` blocks and each index, inner_bytes at that index of the
 * axis. An index outside [0, axis_size) runs TF_ABORT(), where TFLite fails the invocation.
 */
void tf_gather(const uint8_t *in, const int32_t *indices, int32_t count, int32_t outer, int32_t axis_size,
               int32_t inner_bytes, uint8_t *out);

/**
 * Copies an h x w window of pixels between two images (patch-based inference: a stage input's
 * receptive field into a patch buffer, a patch's tile into the stage output). Source window starts at
 * (src_y, src_x) of an image src_w pixels wide, destination at (dst_y, dst_x) of one dst_w wide. NHWC:
 * planes = 1 and pixel_bytes = channels * element size; NCHW: planes = channels, pixel_bytes = element
 * size and the plane sizes in bytes.
 */
void tf_copy_window(const uint8_t *src, int32_t src_w, int32_t src_y, int32_t src_x, size_t src_plane_bytes, uint8_t *dst,
                    int32_t dst_w, int32_t dst_y, int32_t dst_x, size_t dst_plane_bytes, int32_t h, int32_t w,
                    int32_t planes, int32_t pixel_bytes);

/** Plain byte copy (RESHAPE/SQUEEZE that are not aliased by the planner). */
void tf_copy(const void *in, void *out, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* TF_KERNELS_H */
