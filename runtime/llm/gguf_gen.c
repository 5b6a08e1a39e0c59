/* SPDX-License-Identifier: MIT */
/*
 * gguf_gen.c - write llama GGUF files: the tokenizer.ggml.* keys of a
 * tokenizer description, and whole random models (the llama2.c generator's
 * weights, so both formats hold the same model) with every matrix in a
 * chosen ggml type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

int zk_gguf_w_tokenizer(zk_gguf_writer *w, const zk_tokenizer_desc *d)
{
    int rc = zk_gguf_w_str(w, "tokenizer.ggml.model", d->kind == ZK_TOK_BPE ? "gpt2" : "llama");
    rc |= zk_gguf_w_arr_str(w, "tokenizer.ggml.tokens", d->tokens, (uint64_t)d->n_vocab);
    if (d->scores) {
        rc |= zk_gguf_w_arr_f32(w, "tokenizer.ggml.scores", d->scores, (uint64_t)d->n_vocab);
    }
    if (d->types) {
        rc |= zk_gguf_w_arr_i32(w, "tokenizer.ggml.token_type", d->types, (uint64_t)d->n_vocab);
    }
    if (d->n_merges) {
        rc |= zk_gguf_w_arr_str(w, "tokenizer.ggml.merges", d->merges, (uint64_t)d->n_merges);
    }
    if (d->bos >= 0) {
        rc |= zk_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)d->bos);
    }
    if (d->eos >= 0) {
        rc |= zk_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)d->eos);
    }
    if (d->unk >= 0) {
        rc |= zk_gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)d->unk);
    }
    if (d->eot >= 0) {
        rc |= zk_gguf_w_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)d->eot);
    }
    rc |= zk_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", d->add_bos);
    rc |= zk_gguf_w_bool(w, "tokenizer.ggml.add_eos_token", d->add_eos);
    if (d->kind == ZK_TOK_SPM) {
        rc |= zk_gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", d->add_space_prefix);
    }
    if (d->chat_template) {
        rc |= zk_gguf_w_str(w, "tokenizer.chat_template", d->chat_template);
    }
    return rc ? -1 : 0;
}
