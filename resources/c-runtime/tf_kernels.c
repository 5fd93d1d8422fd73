/* TinyFleet int8 kernel library: see tf_kernels.h for the conventions. */
#include "tf_kernels.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- fixed point */

int32_t tf_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int64_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  /* C division truncates toward zero, as gemmlowp's does */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t tf_rdbypot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t tf_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return tf_rdbypot(tf_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

int32_t tf_mbqm_single(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t total = 31 - shift;
  int64_t r = (int64_t)x * (int64_t)multiplier;
  if (total > 0) r = (r + ((int64_t)1 << (total - 1))) >> total;
  if (r > INT32_MAX) r = INT32_MAX;
  if (r < INT32_MIN) r = INT32_MIN;
  return (int32_t)r;
}

int32_t tf_requant(int32_t x, int32_t multiplier, int32_t shift, tf_rounding rounding) {
  return rounding == TF_ROUND_TFLITE ? tf_mbqm_single(x, multiplier, shift) : tf_mbqm(x, multiplier, shift);
}

static int8_t clamp_s8(int32_t v, int32_t lo, int32_t hi) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int8_t)v;
}

static int8_t requant_out(const tf_conv_params *p, int32_t acc, int32_t oc) {
  acc = tf_requant(acc, p->mult[oc], p->shift[oc], p->rounding);
  return clamp_s8(acc + p->out_offset, p->act_min, p->act_max);
}

static int8_t finish(const tf_conv_params *p, int32_t acc, int32_t oc) {
  if (p->bias) acc += p->bias[oc];
  return requant_out(p, acc, oc);
}

static int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
  int32_t acc = 0;
  int32_t i;
  for (i = 0; i < n; i++) acc += (int32_t)a[i] * (int32_t)b[i];
  return acc;
}

/* ---------------------------------------------------------------- convolution */

/*
 * The shared body of the convolutions. acc = sum f * (x + in_offset) is computed as
 * sum f * x + in_offset * sum f over the same taps (exact in int32), which keeps the inner loop a
 * plain int8 dot product. Called with constant kernel sizes so the compiler specialises it.
 */
static inline void conv_body(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out,
                             const tf_view *ov, const tf_region *r, int32_t kh, int32_t kw, int32_t dh,
                             int32_t dw) {
  const int32_t ic_n = iv->c;
  const int32_t oc_n = ov->c;
  int32_t oy, ox, oc, ky, kx, ic;
  for (oy = r->y0; oy < r->y1; oy++) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    for (ox = r->x0; ox < r->x1; ox++) {
      const int32_t ix0 = ox * p->stride_w - p->pad_left;
      int8_t *o = out + ((size_t)(oy - ov->y0) * (size_t)ov->bw + (size_t)(ox - ov->x0)) * (size_t)oc_n;
      if (dw == 1 && iy0 >= 0 && iy0 + (kh - 1) * dh < iv->h && ix0 >= 0 && ix0 + kw - 1 < iv->w) {
        /* The whole window is inside the image: each kernel row is one contiguous run of kw * C_in
         * bytes in both input and filter, and the zero-point correction is precomputed. */
        const int8_t *x0 = in + ((size_t)(iy0 - iv->y0) * (size_t)iv->bw + (size_t)(ix0 - iv->x0)) * (size_t)ic_n;
        const size_t row = (size_t)iv->bw * (size_t)ic_n * (size_t)dh;
        const int32_t run = kw * ic_n;
        for (oc = 0; oc < oc_n; oc++) {
          const int8_t *f = p->filter + (size_t)oc * (size_t)(kh * run);
          int32_t acc = p->folded_bias[oc];
          for (ky = 0; ky < kh; ky++) acc += dot_s8(f + (size_t)ky * (size_t)run, x0 + (size_t)ky * row, run);
          o[oc] = requant_out(p, acc, oc);
        }
        continue;
      }
      for (oc = 0; oc < oc_n; oc++) {
        const int8_t *f = p->filter + (size_t)oc * (size_t)(kh * kw * ic_n);
        int32_t acc = 0;
        int32_t fsum = 0;
        int32_t fsum_all = 0;
        int32_t i;
        /* folded_bias assumes every tap is inside the image: take back the taps that are padding */
        for (i = 0; i < kh * kw * ic_n; i++) fsum_all += f[i];
        for (ky = 0; ky < kh; ky++) {
          const int32_t iy = iy0 + ky * dh;
          if (iy < 0 || iy >= iv->h) continue;
          for (kx = 0; kx < kw; kx++) {
            const int32_t ix = ix0 + kx * dw;
            const int8_t *x;
            const int8_t *fk;
            if (ix < 0 || ix >= iv->w) continue;
            x = in + ((size_t)(iy - iv->y0) * (size_t)iv->bw + (size_t)(ix - iv->x0)) * (size_t)ic_n;
            fk = f + (size_t)(ky * kw + kx) * (size_t)ic_n;
            for (ic = 0; ic < ic_n; ic++) {
              acc += (int32_t)fk[ic] * (int32_t)x[ic];
              fsum += fk[ic];
            }
          }
        }
        o[oc] = requant_out(p, acc + p->folded_bias[oc] + p->in_offset * (fsum - fsum_all), oc);
      }
    }
  }
}

void tf_conv_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                const tf_region *r) {
  conv_body(p, in, iv, out, ov, r, p->kh, p->kw, p->dil_h, p->dil_w);
}

void tf_conv3x3_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r) {
  conv_body(p, in, iv, out, ov, r, 3, 3, 1, 1);
}

void tf_conv1x1_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r) {
  const int32_t ic_n = iv->c;
  const int32_t oc_n = ov->c;
  int32_t oy, ox, oc;
  for (oy = r->y0; oy < r->y1; oy++) {
    const int32_t iy = oy * p->stride_h;
    for (ox = r->x0; ox < r->x1; ox++) {
      const int32_t ix = ox * p->stride_w;
      const int8_t *x = in + ((size_t)(iy - iv->y0) * (size_t)iv->bw + (size_t)(ix - iv->x0)) * (size_t)ic_n;
      int8_t *o = out + ((size_t)(oy - ov->y0) * (size_t)ov->bw + (size_t)(ox - ov->x0)) * (size_t)oc_n;
      for (oc = 0; oc < oc_n; oc++) o[oc] = requant_out(p, p->folded_bias[oc] + dot_s8(p->filter + (size_t)oc * (size_t)ic_n, x, ic_n), oc);
    }
  }
}

/* ---------------------------------------------------------------- depthwise */

/* Kernels up to 7x7 keep one channel's taps in a local array (stack use: 196 bytes). */
#define TF_MAX_LOCAL_TAPS 49

/* Output channels accumulated together per pixel (local accumulators: 256 bytes of stack). */
#define TF_DW_CHUNK 64

void tf_dwconv_s8(const tf_conv_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                  const tf_region *r) {
  const int32_t ic_n = iv->c;
  const int32_t oc_n = ov->c;
  const int32_t dm = p->depth_multiplier;
  int32_t acc[TF_DW_CHUNK];
  int32_t oy, ox, ky, kx, c0, oc;
  for (oy = r->y0; oy < r->y1; oy++) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    for (ox = r->x0; ox < r->x1; ox++) {
      const int32_t ix0 = ox * p->stride_w - p->pad_left;
      int8_t *o = out + ((size_t)(oy - ov->y0) * (size_t)ov->bw + (size_t)(ox - ov->x0)) * (size_t)oc_n;
      for (c0 = 0; c0 < oc_n; c0 += TF_DW_CHUNK) {
        const int32_t c1 = c0 + TF_DW_CHUNK < oc_n ? c0 + TF_DW_CHUNK : oc_n;
        for (oc = c0; oc < c1; oc++) acc[oc - c0] = p->bias ? p->bias[oc] : 0;
        for (ky = 0; ky < p->kh; ky++) {
          const int32_t iy = iy0 + ky * p->dil_h;
          if (iy < 0 || iy >= iv->h) continue;
          for (kx = 0; kx < p->kw; kx++) {
            const int32_t ix = ix0 + kx * p->dil_w;
            const int8_t *x;
            const int8_t *f;
            if (ix < 0 || ix >= iv->w) continue;
            x = in + ((size_t)(iy - iv->y0) * (size_t)iv->bw + (size_t)(ix - iv->x0)) * (size_t)ic_n;
            f = p->filter + (size_t)(ky * p->kw + kx) * (size_t)oc_n;
            /* output channel oc reads input channel oc / dm */
            if (dm == 1) {
              for (oc = c0; oc < c1; oc++) acc[oc - c0] += (int32_t)f[oc] * ((int32_t)x[oc] + p->in_offset);
            } else {
              for (oc = c0; oc < c1; oc++) acc[oc - c0] += (int32_t)f[oc] * ((int32_t)x[oc / dm] + p->in_offset);
            }
          }
        }
        for (oc = c0; oc < c1; oc++) o[oc] = requant_out(p, acc[oc - c0], oc);
      }
    }
  }
}

void tf_dwconv_inplace_s8(const tf_conv_params *p, int8_t *buf, const tf_view *iv, const tf_view *ov,
                          const tf_region *r, int32_t plane_h, int32_t plane_w, int32_t ring_rows, int8_t *plane) {
  const int32_t c_n = iv->c;
  const int32_t rows = ring_rows > 0 ? ring_rows : plane_h;
  const int32_t pw = plane_w;
  const int32_t span = (p->kh - 1) * p->dil_h + 1;
  /* plane row 0 is full-tensor row iv->y0 - pad_top; plane column 0 is column iv->x0 - pad_left;
   * plane row py lives in scratch row py % rows */
  const int32_t zero_point = -p->in_offset;
  const int32_t taps_n = p->kh * p->kw;
  int32_t taps[TF_MAX_LOCAL_TAPS];
  int32_t bias = 0;
  int32_t c, x, oy, ox, ky, kx;
  /* The padding columns are never copied over, so they keep the zero point for every channel. */
  memset(plane, zero_point, (size_t)rows * (size_t)pw);
  for (c = 0; c < c_n; c++) {
    int32_t next = 0;
    /* scratch row of the window's first plane row; kept without a division (Cortex-M0+ has none) */
    int32_t top_slot = r->y0 * p->stride_h - iv->y0;
    while (top_slot >= rows) top_slot -= rows;
    /* The channel's taps, gathered once, and the zero-point correction folded into the start value
     * (every tap reads the padded plane, so the correction is the same for every output). */
    if (taps_n <= TF_MAX_LOCAL_TAPS) {
      int32_t k;
      bias = p->bias ? p->bias[c] : 0;
      for (k = 0; k < taps_n; k++) {
        taps[k] = p->filter[(size_t)k * (size_t)c_n + (size_t)c];
        bias += p->in_offset * taps[k];
      }
    }
    for (oy = r->y0; oy < r->y1; oy++) {
      const int32_t py0 = oy * p->stride_h - iv->y0;
      /* The whole plane before the first output row, or (ring) the rows this output row reads
       * that are not copied yet; rows between windows are never read, so never copied. */
      const int32_t end = ring_rows > 0 ? py0 + span : plane_h;
      int32_t py = next > py0 ? next : py0;
      for (; py < end; py++) {
        const int32_t y = py - p->pad_top;
        int32_t slot = top_slot + (py - py0);
        int8_t *dst;
        while (slot >= rows) slot -= rows;
        dst = plane + (size_t)slot * (size_t)pw + (size_t)p->pad_left;
        if (y < 0 || y >= iv->bh) {
          memset(dst, zero_point, (size_t)iv->bw);
        } else {
          const int8_t *src = buf + (size_t)y * (size_t)iv->bw * (size_t)c_n + (size_t)c;
          for (x = 0; x < iv->bw; x++) dst[x] = src[(size_t)x * (size_t)c_n];
        }
      }
      if (end > next) next = end;
      for (ox = r->x0; ox < r->x1; ox++) {
        const int32_t px0 = ox * p->stride_w - iv->x0;
        int8_t *dst = buf + ((size_t)(oy - ov->y0) * (size_t)ov->bw + (size_t)(ox - ov->x0)) * (size_t)c_n + (size_t)c;
        /* the window's rows are consecutive modulo `rows`; dil_h < rows whenever kh > 1 */
        int32_t slot = top_slot;
        int32_t acc = 0;
        if (taps_n <= TF_MAX_LOCAL_TAPS) {
          const int32_t *t = taps;
          acc = bias;
          for (ky = 0; ky < p->kh; ky++, t += p->kw) {
            const int8_t *row = plane + (size_t)slot * (size_t)pw + (size_t)px0;
            for (kx = 0; kx < p->kw; kx++) acc += t[kx] * (int32_t)row[kx * p->dil_w];
            slot += p->dil_h;
            if (slot >= rows) slot -= rows;
          }
          *dst = requant_out(p, acc, c);
          continue;
        }
        for (ky = 0; ky < p->kh; ky++) {
          const int8_t *row = plane + (size_t)slot * (size_t)pw + (size_t)px0;
          const int8_t *f = p->filter + (size_t)ky * (size_t)p->kw * (size_t)c_n + (size_t)c;
          for (kx = 0; kx < p->kw; kx++)
            acc += (int32_t)f[(size_t)kx * (size_t)c_n] * ((int32_t)row[kx * p->dil_w] + p->in_offset);
          slot += p->dil_h;
          if (slot >= rows) slot -= rows;
        }
        *dst = finish(p, acc, c);
      }
      top_slot += p->stride_h;
      while (top_slot >= rows) top_slot -= rows;
    }
  }
}

/* ---------------------------------------------------------------- fully connected */

void tf_fully_connected_s8(const tf_fc_params *p, const int8_t *in, int8_t *out) {
  int32_t b, o, i;
  for (b = 0; b < p->batches; b++) {
    const int8_t *x = in + (size_t)b * (size_t)p->in_dim;
    int32_t xsum = 0;
    for (i = 0; i < p->in_dim; i++) xsum += x[i];
    for (o = 0; o < p->out_dim; o++) {
      const int8_t *f = p->filter + (size_t)o * (size_t)p->in_dim;
      const int32_t ch = p->per_channel ? o : 0;
      int32_t acc = 0;
      int32_t fsum = 0;
      for (i = 0; i < p->in_dim; i++) {
        acc += (int32_t)f[i] * (int32_t)x[i];
        fsum += f[i];
      }
      /* sum (f + fo)(x + io) expanded; exact in int32 */
      acc += p->in_offset * fsum + p->filter_offset * xsum + p->in_dim * p->filter_offset * p->in_offset;
      if (p->bias) acc += p->bias[o];
      acc = tf_requant(acc, p->mult[ch], p->shift[ch], p->rounding);
      out[(size_t)b * (size_t)p->out_dim + (size_t)o] = clamp_s8(acc + p->out_offset, p->act_min, p->act_max);
    }
  }
}

/* ---------------------------------------------------------------- batch matmul */

void tf_batch_matmul_s8(const tf_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out) {
  const int32_t l_row = p->adj_x ? 1 : p->depth, l_k = p->adj_x ? p->rows : 1;
  const int32_t r_k = p->adj_y ? 1 : p->cols, r_col = p->adj_y ? p->depth : 1;
  int32_t b, i, j, k;
  for (b = 0; b < p->batches; b++) {
    const int8_t *l = lhs + p->lhs_offsets[b];
    const int8_t *r = rhs + p->rhs_offsets[b];
    for (i = 0; i < p->rows; i++)
      for (j = 0; j < p->cols; j++) {
        int32_t acc = 0;
        for (k = 0; k < p->depth; k++)
          acc += ((int32_t)l[i * l_row + k * l_k] - p->lhs_zero_point) * ((int32_t)r[k * r_k + j * r_col] - p->rhs_zero_point);
        *out++ = clamp_s8(tf_requant(acc, p->mult, p->shift, p->rounding) + p->out_zero_point, -128, 127);
      }
  }
}

/* ---------------------------------------------------------------- pooling */

static void pool(const tf_pool_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                 const tf_region *r, int is_max) {
  const int32_t c_n = iv->c;
  int32_t oy, ox, c, y, x;
  for (oy = r->y0; oy < r->y1; oy++) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
    const int32_t fy1 = p->kh < iv->h - iy0 ? p->kh : iv->h - iy0;
    for (ox = r->x0; ox < r->x1; ox++) {
      const int32_t ix0 = ox * p->stride_w - p->pad_left;
      const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
      const int32_t fx1 = p->kw < iv->w - ix0 ? p->kw : iv->w - ix0;
      const int32_t count = (fy1 - fy0) * (fx1 - fx0);
      int8_t *o = out + ((size_t)(oy - ov->y0) * (size_t)ov->bw + (size_t)(ox - ov->x0)) * (size_t)c_n;
      for (c = 0; c < c_n; c++) {
        int32_t acc = is_max ? -128 : 0;
        for (y = fy0; y < fy1; y++) {
          const int8_t *row = in + ((size_t)(iy0 + y - iv->y0) * (size_t)iv->bw) * (size_t)c_n + (size_t)c;
          for (x = fx0; x < fx1; x++) {
            const int32_t v = row[(size_t)(ix0 + x - iv->x0) * (size_t)c_n];
            if (is_max) {
              if (v > acc) acc = v;
            } else {
              acc += v;
            }
          }
        }
        if (!is_max && count > 0) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        o[c] = clamp_s8(acc, p->act_min, p->act_max);
      }
    }
  }
}

void tf_avgpool_s8(const tf_pool_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r) {
  pool(p, in, iv, out, ov, r, 0);
}

void tf_maxpool_s8(const tf_pool_params *p, const int8_t *in, const tf_view *iv, int8_t *out, const tf_view *ov,
                   const tf_region *r) {
  pool(p, in, iv, out, ov, r, 1);
}

/* ---------------------------------------------------------------- elementwise */

static int8_t add_one(const tf_add_params *p, int32_t a, int32_t b) {
  const int32_t x1 = (int32_t)((uint32_t)(p->in1_offset + a) << p->left_shift);
  const int32_t x2 = (int32_t)((uint32_t)(p->in2_offset + b) << p->left_shift);
  const int32_t s1 = tf_mbqm(x1, p->in1_mult, p->in1_shift);
  const int32_t s2 = tf_mbqm(x2, p->in2_mult, p->in2_shift);
  const int32_t raw = tf_mbqm(s1 + s2, p->out_mult, p->out_shift) + p->out_offset;
  return clamp_s8(raw, p->act_min, p->act_max);
}

static int8_t mul_one(const tf_mul_params *p, int32_t a, int32_t b) {
  const int32_t prod = (p->in1_offset + a) * (p->in2_offset + b);
  return clamp_s8(tf_mbqm(prod, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

void tf_add_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) out[i] = add_one(p, a[i], b[i]);
}

void tf_mul_s8(const tf_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) out[i] = mul_one(p, a[i], b[i]);
}

#define TF_BROADCAST_LOOP(BODY)                                                                     \
  do {                                                                                              \
    int32_t i0, i1, i2, i3;                                                                         \
    size_t k = 0;                                                                                   \
    for (i0 = 0; i0 < bc->dims[0]; i0++)                                                            \
      for (i1 = 0; i1 < bc->dims[1]; i1++)                                                          \
        for (i2 = 0; i2 < bc->dims[2]; i2++)                                                        \
          for (i3 = 0; i3 < bc->dims[3]; i3++) {                                                    \
            const size_t ia = (size_t)(i0 * bc->stride_a[0] + i1 * bc->stride_a[1] + i2 * bc->stride_a[2] + \
                                       i3 * bc->stride_a[3]);                                        \
            const size_t ib = (size_t)(i0 * bc->stride_b[0] + i1 * bc->stride_b[1] + i2 * bc->stride_b[2] + \
                                       i3 * bc->stride_b[3]);                                        \
            out[k++] = BODY;                                                                        \
          }                                                                                         \
  } while (0)

void tf_add_bcast_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(add_one(p, a[ia], b[ib]));
}

void tf_mul_bcast_s8(const tf_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(mul_one(p, a[ia], b[ib]));
}

static int8_t sub_one(const tf_add_params *p, int32_t a, int32_t b) {
  const int32_t x1 = (int32_t)((uint32_t)(p->in1_offset + a) << p->left_shift);
  const int32_t x2 = (int32_t)((uint32_t)(p->in2_offset + b) << p->left_shift);
  const int32_t s1 = tf_mbqm(x1, p->in1_mult, p->in1_shift);
  const int32_t s2 = tf_mbqm(x2, p->in2_mult, p->in2_shift);
  return clamp_s8(tf_mbqm(s1 - s2, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

void tf_sub_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) out[i] = sub_one(p, a[i], b[i]);
}

void tf_sub_bcast_s8(const tf_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(sub_one(p, a[ia], b[ib]));
}

static int8_t sqdiff_one(const tf_sqdiff_params *p, int32_t a, int32_t b) {
  const int32_t s1 = tf_mbqm((int32_t)((uint32_t)(p->in1_offset + a) << 7), p->in1_mult, p->in1_shift);
  const int32_t s2 = tf_mbqm((int32_t)((uint32_t)(p->in2_offset + b) << 7), p->in2_mult, p->in2_shift);
  const int32_t d = s1 - s2;
  return clamp_s8(tf_mbqm(d * d, p->out_mult, p->out_shift) + p->out_offset, -128, 127);
}

void tf_squared_difference_bcast_s8(const tf_sqdiff_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                                    const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(sqdiff_one(p, a[ia], b[ib]));
}

void tf_maximum_bcast_s8(const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(a[ia] > b[ib] ? a[ia] : b[ib]);
}

void tf_minimum_bcast_s8(const int8_t *a, const int8_t *b, int8_t *out, const tf_broadcast *bc) {
  TF_BROADCAST_LOOP(a[ia] < b[ib] ? a[ia] : b[ib]);
}

static int8_t prelu_one(const tf_prelu_params *p, int32_t x, int32_t alpha) {
  const int32_t v = p->in_offset + x;
  const int32_t r = v >= 0 ? tf_mbqm(v, p->mult1, p->shift1) : tf_mbqm(v * (p->alpha_offset + alpha), p->mult2, p->shift2);
  return clamp_s8(r + p->out_offset, -128, 127);
}

void tf_prelu_bcast_s8(const tf_prelu_params *p, const int8_t *in, const int8_t *alpha, int8_t *out,
                       const tf_broadcast *bc) {
  const int8_t *a = in, *b = alpha;
  TF_BROADCAST_LOOP(prelu_one(p, a[ia], b[ib]));
}

/* ---------------------------------------------------------------- softmax */

/* Rows of probabilities, written as int8 (out_bits 8) or int16 (out_bits 16). */
static void store_clamped(void *out, int32_t i, int32_t v, int32_t out_bits) {
  const int32_t hi = out_bits == 16 ? INT16_MAX : INT8_MAX;
  const int32_t lo = -hi - 1;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  if (out_bits == 16) ((int16_t *)out)[i] = (int16_t)v;
  else ((int8_t *)out)[i] = (int8_t)v;
}

static void softmax_float(const float *table, float output_scale, int32_t out_zero_point, const int8_t *in, void *out,
                          int32_t out_bits, int32_t rows, int32_t depth) {
  int32_t r, j;
  for (r = 0; r < rows; r++) {
    const int8_t *x = in + (size_t)r * (size_t)depth;
    const int32_t base = r * depth;
    const float *t;
    int32_t max = -128;
    float sum = 0.0f;
    float inv;
    for (j = 0; j < depth; j++)
      if (x[j] > max) max = x[j];
    t = table + 255 - max;
    for (j = 0; j < depth; j++) sum = sum + t[x[j]];
    inv = 1.0f / (sum * output_scale);
    for (j = 0; j < depth; j++) {
      const float prob = t[x[j]] * inv;
      store_clamped(out, base + j, (int32_t)roundf(prob) + out_zero_point, out_bits);
    }
  }
}

void tf_softmax_s8(const float *table, float output_scale, int32_t out_zero_point, const int8_t *in, int8_t *out,
                   int32_t rows, int32_t depth) {
  softmax_float(table, output_scale, out_zero_point, in, out, 8, rows, depth);
}

void tf_softmax_s8_s16(const float *table, float output_scale, int32_t out_zero_point, const int8_t *in, int16_t *out,
                       int32_t rows, int32_t depth) {
  softmax_float(table, output_scale, out_zero_point, in, out, 16, rows, depth);
}

/* ---------------------------------------------------------------- gemmlowp fixed-point math (TFLite Micro) */

#ifndef TF_ABORT
#define TF_ABORT() for (;;) {}
#endif

/* int32 addition wrapping like the two's complement hardware, without C's signed-overflow UB */
static int32_t wrap_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t wrap_sub(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

static int32_t clz32(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

/* SaturatingRoundingMultiplyByPOT: x * 2^e, saturating for e > 0, rounding to nearest for e < 0 */
static int32_t sat_round_mul_pot(int32_t x, int32_t e) {
  int32_t threshold;
  if (e < 0) return tf_rdbypot(x, -e);
  if (e == 0) return x;
  threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << e);
}

static int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31: Taylor expansion around -1/8 */
static int32_t exp_quarter(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668;
  const int32_t one_third = 715827883;
  const int32_t x = wrap_add(a, (int32_t)1 << 28);
  const int32_t x2 = tf_srdhm(x, x);
  const int32_t x3 = tf_srdhm(x2, x);
  const int32_t x4 = tf_srdhm(x2, x2);
  const int32_t x4_over_4 = tf_rdbypot(x4, 2);
  const int32_t higher = tf_rdbypot(wrap_add(tf_srdhm(wrap_add(x4_over_4, x3), one_third), x2), 1);
  return wrap_add(exp_minus_one_eighth, tf_srdhm(exp_minus_one_eighth, wrap_add(x, higher)));
}

/* exp(-2^k) for k = -2..4 in Q0.31 */
static const int32_t exp_minus_pow2[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};

/* exp(a) for a <= 0 with integer_bits (4 or 5) integer bits, Q0.31 result (gemmlowp's exp_on_negative_values) */
static int32_t exp_on_negative_values(int32_t a, int32_t integer_bits) {
  const int32_t fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
  const int32_t remainder = wrap_sub(a_mod_quarter_minus_quarter, a);
  int32_t result, k;
  if (a == 0) return INT32_MAX;
  result = exp_quarter(sat_round_mul_pot(a_mod_quarter_minus_quarter, integer_bits));
  for (k = -2; k <= 4 && k < integer_bits; k++)
    if (remainder & ((int32_t)1 << (fractional_bits + k))) result = tf_srdhm(result, exp_minus_pow2[k + 2]);
  return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31: Newton-Raphson in Q2.29 */
static int32_t one_over_one_plus_x(int32_t a) {
  const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
  int32_t x = wrap_add(1515870810, tf_srdhm(half_denominator, -1010580540));
  int32_t i;
  for (i = 0; i < 3; i++) {
    const int32_t one_minus = wrap_sub((int32_t)1 << 29, tf_srdhm(half_denominator, x));
    x = wrap_add(x, sat_round_mul_pot(tf_srdhm(x, one_minus), 2));
  }
  return sat_round_mul_pot(x, 1);
}

/* gemmlowp's logistic: 1 / (1 + exp(-a)), a with integer_bits integer bits, Q0.31 result */
static int32_t logistic_fixed(int32_t a, int32_t integer_bits) {
  int32_t neg_abs, if_positive;
  if (a == 0) return (int32_t)1 << 30;
  neg_abs = a > 0 ? -a : a;
  if_positive = one_over_one_plus_x(exp_on_negative_values(neg_abs, integer_bits));
  return a > 0 ? if_positive : INT32_MAX - if_positive;
}

/* ---------------------------------------------------------------- TFLite Micro softmax and logistic */

/* exp of a row difference (>= diff_min, so the shift stays inside int32) rescaled to Q5.26 */
static int32_t softmax_exp(const tf_softmax_tflm_params *p, int32_t diff) {
  return exp_on_negative_values(tf_srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier), 5);
}

/* reference_ops::Softmax<int8_t, OutputT>: exponent 31 - bits(OutputT), offset by OutputT's minimum. */
static void softmax_tflm(const tf_softmax_tflm_params *p, const int8_t *in, void *out, int32_t out_bits, int32_t rows,
                         int32_t depth) {
  const int32_t out_min = out_bits == 16 ? INT16_MIN : INT8_MIN;
  int32_t r, j;
  for (r = 0; r < rows; r++) {
    const int8_t *x = in + (size_t)r * (size_t)depth;
    const int32_t base = r * depth;
    int32_t max = -128, sum = 0, headroom, reciprocal, exponent;
    for (j = 0; j < depth; j++)
      if (x[j] > max) max = x[j];
    for (j = 0; j < depth; j++) {
      const int32_t diff = x[j] - max;
      /* the Q12.19 accumulator: Rescale<12> of each Q0.31 exponential */
      if (diff >= p->diff_min) sum = wrap_add(sum, tf_rdbypot(softmax_exp(p, diff), 12));
    }
    /* GetReciprocal */
    headroom = clz32((uint32_t)sum);
    reciprocal = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
    exponent = (12 - headroom) + 31 - out_bits;
    if (exponent > 31) TF_ABORT();
    for (j = 0; j < depth; j++) {
      const int32_t diff = x[j] - max;
      const int32_t v = diff >= p->diff_min ? tf_rdbypot(tf_srdhm(reciprocal, softmax_exp(p, diff)), exponent) + out_min : out_min;
      store_clamped(out, base + j, v, out_bits);
    }
  }
}

void tf_softmax_tflm_s8(const tf_softmax_tflm_params *p, const int8_t *in, int8_t *out, int32_t rows, int32_t depth) {
  softmax_tflm(p, in, out, 8, rows, depth);
}

void tf_softmax_tflm_s8_s16(const tf_softmax_tflm_params *p, const int8_t *in, int16_t *out, int32_t rows,
                            int32_t depth) {
  softmax_tflm(p, in, out, 16, rows, depth);
}

void tf_logistic_s8(const tf_logistic_params *p, const int8_t *in, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) {
    const int32_t x = in[i] - p->in_zero_point;
    if (x <= -p->range_radius) {
      out[i] = -128;
    } else if (x >= p->range_radius) {
      out[i] = 127;
    } else {
      /* Q4.27 in, Q0.31 out, rounded to 8 fractional bits */
      const int32_t q = tf_rdbypot(logistic_fixed(tf_mbqm(x, p->multiplier, p->left_shift), 4), 31 - 8);
      out[i] = clamp_s8(q - 128, -128, 127);
    }
  }
}

/* ---------------------------------------------------------------- log softmax */

static int32_t saturate_s64(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

/* ln(x) for a positive x with in_bits integer bits, out_bits integer bits out: a power of two from the
 * leading zeros (of x and of x * sqrt(1/2), the tighter kept) plus a rational function of the mantissa,
 * accumulated with out_bits + 1 integer bits (TFLite's log_x_for_x_greater_than_or_equal_to_1). */
static int32_t log_x_ge_1(int32_t x, int32_t in_bits, int32_t out_bits) {
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250, one_quarter = 536870912;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
  const int32_t accum_bits = out_bits + 1;
  const int32_t shifted_quarter = sat_round_mul_pot(one_quarter, -accum_bits);
  const int32_t a_headroom_plus_1 = clz32((uint32_t)x);
  const int32_t r_a = sat_round_mul_pot(tf_srdhm(sat_round_mul_pot(x, a_headroom_plus_1 - 1), sqrt_half), 1);
  const int32_t a_pow2 =
      saturate_s64((int64_t)sat_round_mul_pot(in_bits - a_headroom_plus_1, 31 - accum_bits) + shifted_quarter);
  const int32_t b_headroom = clz32((uint32_t)tf_srdhm(x, sqrt_half)) - 1;
  const int32_t r_b = sat_round_mul_pot(x, b_headroom);
  const int32_t b_pow2 = saturate_s64((int64_t)sat_round_mul_pot(in_bits - b_headroom, 31 - accum_bits) - shifted_quarter);
  const int32_t r = r_a < r_b ? r_a : r_b;
  const int32_t pow2 = a_pow2 > b_pow2 ? a_pow2 : b_pow2;
  const int32_t p = rounding_half_sum(r, sqrt_sqrt_half);
  const int32_t q = wrap_add(wrap_sub(r, sqrt_sqrt_half), wrap_sub(r, sqrt_sqrt_half));
  const int32_t q_sq = tf_srdhm(q, q);
  const int32_t num = wrap_add(tf_srdhm(q, r), tf_srdhm(tf_srdhm(q, q_sq), alpha_n));
  const int32_t denom_minus_one =
      wrap_add(tf_srdhm(p, wrap_add(wrap_add(alpha_i, q), tf_srdhm(alpha_d, q_sq))), tf_srdhm(alpha_f, q));
  const int32_t recip = one_over_one_plus_x(denom_minus_one);
  const int32_t sum = wrap_add(tf_srdhm(pow2, log_2), tf_srdhm(sat_round_mul_pot(num, -accum_bits), recip));
  return sat_round_mul_pot(sum, accum_bits - out_bits);
}

void tf_log_softmax_s8(const tf_log_softmax_params *p, const int8_t *in, int8_t *out, int32_t rows, int32_t depth) {
  int32_t r, j;
  for (r = 0; r < rows; r++) {
    const int8_t *x = in + (size_t)r * (size_t)depth;
    int8_t *y = out + (size_t)r * (size_t)depth;
    int32_t max = -128, sum = 0, log_sum, adjusted_diff_min, floor_diff;
    for (j = 0; j < depth; j++)
      if (x[j] > max) max = x[j];
    for (j = 0; j < depth; j++) {
      const int32_t diff = x[j] - max;
      /* Q5.26 difference, its exponential rescaled to the Q12.19 accumulator */
      if (diff >= p->diff_min)
        sum = wrap_add(sum, tf_rdbypot(exp_on_negative_values(tf_mbqm(diff, p->input_multiplier, p->input_left_shift), 5), 12));
    }
    log_sum = log_x_ge_1(sum, 12, 5);
    /* differences at or below this give the type's minimum: log(sum) past Q5.26's bottom, on the input scale */
    floor_diff = tf_mbqm(wrap_add(log_sum, INT32_MIN), p->reverse_multiplier, p->reverse_shift);
    adjusted_diff_min = p->diff_min - 1 > floor_diff ? p->diff_min - 1 : floor_diff;
    for (j = 0; j < depth; j++) {
      const int32_t diff = x[j] - max;
      if (diff > adjusted_diff_min) {
        const int32_t q5 = tf_mbqm(diff, p->input_multiplier, p->input_left_shift);
        y[j] = clamp_s8(tf_rdbypot(wrap_sub(q5, log_sum), 31 - 5 - 4) + 127, -128, 127);
      } else {
        y[j] = -128;
      }
    }
  }
}

/* ---------------------------------------------------------------- mean */

void tf_mean_spatial_s8(const tf_mean_params *p, const int8_t *in, int8_t *out, int32_t batches, int32_t hw,
                        int32_t channels) {
  int32_t b, c, i;
  for (b = 0; b < batches; b++) {
    for (c = 0; c < channels; c++) {
      const int8_t *x = in + (size_t)b * (size_t)hw * (size_t)channels + (size_t)c;
      int32_t acc = 0;
      for (i = 0; i < hw; i++) acc += x[(size_t)i * (size_t)channels];
      if (p->tflm) {
        acc = tf_mbqm(acc - hw * p->in_zero_point, p->mult, p->shift);
        acc = acc > 0 ? (acc + hw / 2) / hw : (acc - hw / 2) / hw;
        acc += p->out_zero_point;
      } else {
        acc = tf_mbqm(acc, p->mult, p->shift) + p->bias;
      }
      out[(size_t)b * (size_t)channels + (size_t)c] = clamp_s8(acc, -128, 127);
    }
  }
}

void tf_mean_generic_s8(const int8_t *in, int8_t *out, int32_t outer, int32_t count, int32_t inner) {
  int32_t o, i, k;
  for (o = 0; o < outer; o++) {
    for (i = 0; i < inner; i++) {
      const int8_t *x = in + (size_t)o * (size_t)count * (size_t)inner + (size_t)i;
      int32_t acc = 0;
      for (k = 0; k < count; k++) acc += x[(size_t)k * (size_t)inner];
      out[(size_t)o * (size_t)inner + (size_t)i] = (int8_t)(acc / count);
    }
  }
}

/* ---------------------------------------------------------------- tables, quantize */

void tf_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) out[i] = table[(int32_t)in[i] + 128];
}

void tf_lut_from_s8(const int8_t *table, int32_t min, const int8_t *in, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) {
    if (in[i] < min) TF_ABORT();
    out[i] = table[(int32_t)in[i] + 128];
  }
}

void tf_lut_s8_f32(const float *table, const int8_t *in, float *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) out[i] = table[(int32_t)in[i] + 128];
}

void tf_quantize_f32_s8(double scale, int32_t zero_point, const float *in, int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) {
    const double q = round((double)in[i] / scale) + (double)zero_point;
    out[i] = (int8_t)(q < -128.0 ? -128 : q > 127.0 ? 127 : (int32_t)q);
  }
}

static int32_t load_int(const void *p, tf_int_type type, int32_t i) {
  switch (type) {
    case TF_INT8: return ((const int8_t *)p)[i];
    case TF_UINT8: return ((const uint8_t *)p)[i];
    case TF_INT16: return ((const int16_t *)p)[i];
    default: return ((const int32_t *)p)[i];
  }
}

static void store_int(void *p, tf_int_type type, int32_t i, int64_t v) {
  const int64_t lo = type == TF_INT8 ? INT8_MIN : type == TF_UINT8 ? 0 : type == TF_INT16 ? INT16_MIN : INT32_MIN;
  const int64_t hi = type == TF_INT8 ? INT8_MAX : type == TF_UINT8 ? UINT8_MAX : type == TF_INT16 ? INT16_MAX : INT32_MAX;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  switch (type) {
    case TF_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case TF_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case TF_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    default: ((int32_t *)p)[i] = (int32_t)v; break;
  }
}

void tf_requantize(const tf_requant_params *p, const void *in, tf_int_type in_type, void *out, tf_int_type out_type,
                   int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) {
    const int32_t x = load_int(in, in_type, i) - p->in_zero_point;
    store_int(out, out_type, i, (int64_t)tf_mbqm(x, p->mult, p->shift) + p->out_zero_point);
  }
}

/* ---------------------------------------------------------------- svdf */

void tf_svdf(const tf_svdf_params *p, const int8_t *in, void *state, int8_t *out, int32_t *scratch) {
  const tf_int_type st = p->state_type;
  const int32_t state_len = p->batches * p->filters * p->memory;
  int32_t *filter_sums = scratch;
  int32_t *unit_sums = scratch + p->batches * p->filters;
  int32_t b, f, c, j, u;
  /* shift the state left by one element */
  if (st == TF_INT16) memmove(state, (int16_t *)state + 1, (size_t)(state_len - 1) * sizeof(int16_t));
  else memmove(state, (int8_t *)state + 1, (size_t)(state_len - 1));
  /* feature matmul into the newest memory column */
  for (b = 0; b < p->batches; b++) {
    const int8_t *x = in + (size_t)b * (size_t)p->input_size;
    for (f = 0; f < p->filters; f++) {
      const int8_t *w = p->weights_feature + (size_t)f * (size_t)p->input_size;
      int32_t dot = 0;
      for (c = 0; c < p->input_size; c++) dot += (int32_t)w[c] * ((int32_t)x[c] - p->in_zero_point);
      store_int(state, st, (b * p->filters + f) * p->memory + p->memory - 1,
                (int64_t)tf_mbqm(dot, p->feature_mult, p->feature_shift) + p->state_zero_point);
    }
  }
  /* time matmul */
  for (b = 0; b < p->batches; b++) {
    for (f = 0; f < p->filters; f++) {
      const int32_t row = (b * p->filters + f) * p->memory;
      int32_t dot = 0;
      for (j = 0; j < p->memory; j++)
        dot += load_int(p->weights_time, st, f * p->memory + j) * (load_int(state, st, row + j) - p->state_zero_point);
      filter_sums[b * p->filters + f] = dot;
    }
  }
  /* bias, reduction over rank, rescale */
  for (b = 0; b < p->batches; b++) {
    for (u = 0; u < p->units; u++) {
      int32_t acc = p->bias ? p->bias[u] : 0;
      for (j = 0; j < p->rank; j++) acc += filter_sums[b * p->filters + u * p->rank + j];
      unit_sums[b * p->units + u] = acc;
    }
  }
  for (j = 0; j < p->batches * p->units; j++) out[j] = clamp_s8(tf_mbqm(unit_sums[j], p->out_mult, p->out_shift) + p->out_zero_point, -128, 127);
}

/* ---------------------------------------------------------------- data movement */

void tf_pad(const uint8_t *in, const int32_t in_dims[4], const int32_t before[4], const int32_t after[4],
            uint8_t *out, int32_t elem_bytes, const uint8_t *value) {
  int32_t od[4];
  int32_t d, i0, i1, i2, i3, b;
  size_t k = 0;
  for (d = 0; d < 4; d++) od[d] = in_dims[d] + before[d] + after[d];
  for (i0 = 0; i0 < od[0]; i0++)
    for (i1 = 0; i1 < od[1]; i1++)
      for (i2 = 0; i2 < od[2]; i2++)
        for (i3 = 0; i3 < od[3]; i3++) {
          const int32_t s0 = i0 - before[0], s1 = i1 - before[1], s2 = i2 - before[2], s3 = i3 - before[3];
          if (s0 < 0 || s0 >= in_dims[0] || s1 < 0 || s1 >= in_dims[1] || s2 < 0 || s2 >= in_dims[2] || s3 < 0 ||
              s3 >= in_dims[3]) {
            for (b = 0; b < elem_bytes; b++) out[k++] = value[b];
          } else {
            const size_t src =
                (((size_t)s0 * (size_t)in_dims[1] + (size_t)s1) * (size_t)in_dims[2] + (size_t)s2) * (size_t)in_dims[3] +
                (size_t)s3;
            for (b = 0; b < elem_bytes; b++) out[k++] = in[src * (size_t)elem_bytes + (size_t)b];
          }
        }
}

void tf_concat(const uint8_t *const *inputs, const int32_t *inner_bytes, int32_t count, int32_t outer,
               uint8_t *out) {
  int32_t o, i;
  for (o = 0; o < outer; o++)
    for (i = 0; i < count; i++) {
      memmove(out, inputs[i] + (size_t)o * (size_t)inner_bytes[i], (size_t)inner_bytes[i]);
      out += inner_bytes[i];
    }
}

void tf_resize_nearest(const uint8_t *in, int32_t in_w, int32_t channel_bytes, const int32_t *src_y,
                       const int32_t *src_x, int32_t out_h, int32_t out_w, int32_t batches, int32_t in_h,
                       uint8_t *out) {
  int32_t b, y, x;
  for (b = 0; b < batches; b++)
    for (y = 0; y < out_h; y++)
      for (x = 0; x < out_w; x++) {
        const size_t src = (((size_t)b * (size_t)in_h + (size_t)src_y[y]) * (size_t)in_w + (size_t)src_x[x]) *
                           (size_t)channel_bytes;
        memcpy(out, in + src, (size_t)channel_bytes);
        out += channel_bytes;
      }
}

void tf_transpose(const uint8_t *in, const int32_t *out_dims, const int32_t *in_strides_perm, int32_t rank,
                  int32_t elem_bytes, uint8_t *out) {
  int32_t idx[6] = {0, 0, 0, 0, 0, 0};
  size_t total = 1;
  size_t k;
  int32_t d;
  for (d = 0; d < rank; d++) total *= (size_t)out_dims[d];
  for (k = 0; k < total; k++) {
    size_t src = 0;
    for (d = 0; d < rank; d++) src += (size_t)idx[d] * (size_t)in_strides_perm[d];
    memcpy(out + k * (size_t)elem_bytes, in + src * (size_t)elem_bytes, (size_t)elem_bytes);
    for (d = rank - 1; d >= 0; d--) {
      if (++idx[d] < out_dims[d]) break;
      idx[d] = 0;
    }
  }
}

void tf_strided_copy(const uint8_t *in, int32_t start, const int32_t *dims, const int32_t *strides, int32_t rank,
                     int32_t elem_bytes, uint8_t *out) {
  int32_t idx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  ptrdiff_t src = start;
  size_t total = 1, k;
  int32_t d;
  for (d = 0; d < rank; d++) total *= (size_t)dims[d];
  for (k = 0; k < total; k++) {
    memcpy(out + k * (size_t)elem_bytes, in + src * elem_bytes, (size_t)elem_bytes);
    for (d = rank - 1; d >= 0; d--) {
      src += strides[d];
      if (++idx[d] < dims[d]) break;
      src -= (ptrdiff_t)strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

void tf_gather(const uint8_t *in, const int32_t *indices, int32_t count, int32_t outer, int32_t axis_size,
               int32_t inner_bytes, uint8_t *out) {
  int32_t b, k;
  for (k = 0; k < count; k++)
    if (indices[k] < 0 || indices[k] >= axis_size) TF_ABORT();
  for (b = 0; b < outer; b++)
    for (k = 0; k < count; k++) {
      memcpy(out, in + ((size_t)b * (size_t)axis_size + (size_t)indices[k]) * (size_t)inner_bytes, (size_t)inner_bytes);
      out += inner_bytes;
    }
}

void tf_copy_window(const uint8_t *src, int32_t src_w, int32_t src_y, int32_t src_x, size_t src_plane_bytes, uint8_t *dst,
                    int32_t dst_w, int32_t dst_y, int32_t dst_x, size_t dst_plane_bytes, int32_t h, int32_t w,
                    int32_t planes, int32_t pixel_bytes) {
  int32_t p, y;
  const size_t row = (size_t)w * (size_t)pixel_bytes;
  for (p = 0; p < planes; p++) {
    const uint8_t *s = src + (size_t)p * src_plane_bytes;
    uint8_t *d = dst + (size_t)p * dst_plane_bytes;
    for (y = 0; y < h; y++) {
      memcpy(d + ((size_t)(dst_y + y) * (size_t)dst_w + (size_t)dst_x) * (size_t)pixel_bytes,
             s + ((size_t)(src_y + y) * (size_t)src_w + (size_t)src_x) * (size_t)pixel_bytes, row);
    }
  }
}

void tf_copy(const void *in, void *out, size_t bytes) {
  if (in != out) memmove(out, in, bytes);
}
