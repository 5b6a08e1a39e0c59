/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gguf.c - fuzz the GGUF reader (runtime/llm/gguf.c) and what reads
 * its metadata (the tokenizer and the llama model loader, which reads the
 * input back from a temporary file when it parses).  Any input must
 * parse or be refused with a message; ASan/UBSan flag anything else.  The
 * generator mutates a small valid file (metadata of each type, a vocabulary,
 * tensors of each type) so most inputs reach the deep checks.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_driver.h"
#include "gguf.h"
#include "llm.h"
#include "quant.h"
#include "tokenizer.h"

static float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zk_gguf g;
    char err[256];
    if (zk_gguf_parse(&g, data, size, err, sizeof(err))) {
        if (!err[0]) {
            __builtin_trap();   /* refusals must say why */
        }
        return 0;
    }
    /* Touch everything the reader vouched for. */
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const zk_gguf_kv *kv = &g.kv[i];
        double f;
        int64_t v;
        for (uint64_t j = 0; kv->type == ZK_GGUF_ARRAY && j < kv->n && j < 64; j++) {
            if (kv->strs) {
                sink += kv->strs[j].len ? (float)(unsigned char)kv->strs[j].s[kv->strs[j].len - 1] : 0;
            } else if (!zk_gguf_arr_float(kv, j, &f) || !zk_gguf_arr_int(kv, j, &v)) {
                sink += (float)f;
            }
        }
    }
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const zk_gguf_tensor *t = &g.tensors[i];
        float row[256];
        uint64_t n = t->ne[0] < 256 ? t->ne[0] : 0;
        if (n && zk_quant_supported(t->type) && zk_dequantize(t->type, t->data, row, n) == 0) {
            sink += row[0];
        }
        if (t->size) {
            sink += t->data[t->size - 1];
        }
    }
    zk_tokenizer *tok = zk_tokenizer_from_gguf(&g, err, sizeof(err));
    if (tok) {
        int32_t ids[64];
        char text[256];
        int32_t n = zk_tokenizer_encode(tok, "Hello world <s> \xe2\x96\x81 12345 \xf0\x9f\x98\x80", 27, 1, 1,
                                        ids, 64);
        if (n > 0) {
            zk_tokenizer_decode(tok, ids, (size_t)(n < 64 ? n : 64), 0, text, sizeof(text));
        }
        for (int32_t i = 0; i < zk_tokenizer_n_vocab(tok) && i < 300; i++) {
            zk_tokenizer_piece(tok, i, 0, text, sizeof(text));
        }
        zk_tokenizer_free(tok);
    }
    zk_gguf_close(&g);
    /* The model loader (mmap path): hyper-parameters, shapes, types. */
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/zk-fuzz-gguf-%d.gguf", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        int wrote = fwrite(data, 1, size, f) == size;
        if (fclose(f) == 0 && wrote) {
            zk_llm_model m;
            if (zk_llm_model_load(&m, path, 0, err, sizeof(err)) == 0) {
                sink += m.tok_emb[0] + m.wcls[(size_t)m.c.vocab_size * m.c.dim - 1];
                zk_llm_model_free(&m);
            } else if (!err[0]) {
                __builtin_trap();
            }
        }
        unlink(path);
    }
    return 0;
}

#ifndef ZK_LIBFUZZER
#include "zk_fuzz_gguf_seed.h"

static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    static uint8_t *seed[3];
    static size_t seed_len[3];
    if (!seed[0]) {
        seed[0] = zk_fuzz_gguf_seed(ZK_TOK_SPM, &seed_len[0]);
        seed[1] = zk_fuzz_gguf_seed(ZK_TOK_BPE, &seed_len[1]);
        seed[2] = zk_fuzz_gguf_model_seed(&seed_len[2]);
        if (!seed[0] || !seed[1] || !seed[2]) {
            abort();
        }
    }
    int which = (int)(fuzz_rand(rng) % 3);
    size_t n = seed_len[which] < cap ? seed_len[which] : cap;
    memcpy(buf, seed[which], n);
    int flips = 1 + (int)(fuzz_rand(rng) % 8);
    for (int i = 0; i < flips; i++) {
        uint64_t r = fuzz_rand(rng);
        size_t at = r % n;
        switch ((r >> 32) % 5) {
        case 0:
            buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
            break;
        case 1:
            buf[at] = (uint8_t)(r >> 40);
            break;
        case 2:
            buf[at] = 0xff;
            break;
        case 3:                 /* a small count or length */
            buf[at] = (uint8_t)((r >> 40) % 4);
            break;
        default:
            n = at + 1;         /* truncate */
            break;
        }
    }
    return n;
}
#endif
