/* SPDX-License-Identifier: MIT */
/*
 * quant.h - ggml tensor encodings on the CPU: F32, F16, BF16 and the
 * 32-weight blocks Q8_0 (fp16 scale d, 32 int8: w = q * d; 34 bytes) and
 * Q4_0 (fp16 d, 16 bytes: byte j = element j in the low nibble, element
 * j + 16 in the high nibble; w = (nibble - 8) * d; 18 bytes), quantized the
 * way llama.cpp's reference quantizer does (Q8_0: d = max|x| / 127,
 * round to nearest; Q4_0: d = (the value of largest magnitude) / -8).
 * Q4_K and Q6_K (256-weight super-blocks) are dequantized only.
 * Hosts are little-endian, like the file format.
 */
#ifndef ZK_QUANT_H
#define ZK_QUANT_H

#include <stddef.h>
#include <stdint.h>

/** Bytes of @n elements of ggml @type (n a whole number of blocks), 0 if
 *  the type is unknown or n is not. */
size_t zk_quant_bytes(uint32_t type, uint64_t n);
/** Encode @n floats (F32/F16/BF16/Q8_0/Q4_0); 0 or -1 (type or n). */
int zk_quantize(uint32_t type, const float *x, void *out, size_t n);
/** Decode @n elements (also Q4_K, Q6_K); 0 or -1. */
int zk_dequantize(uint32_t type, const void *src, float *out, size_t n);
/** Can zk_dequantize read this type? */
int zk_quant_supported(uint32_t type);

float zk_quant_f16_to_f32(uint16_t h);
uint16_t zk_quant_f32_to_f16(float f);

#endif
