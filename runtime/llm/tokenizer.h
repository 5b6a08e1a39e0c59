/* SPDX-License-Identifier: MIT */
/*
 * tokenizer.h - the tokenizers of llama-family models, a standalone C API
 * (no libzhikai needed).
 *
 * Two kinds, as GGUF's tokenizer.ggml.model names them:
 *   "llama" (ZK_TOK_SPM): SentencePiece-style BPE over scored pieces: text
 *       spaces become U+2581 ("▁"), a leading one is added (add_space_prefix),
 *       adjacent pieces merge highest score first, and text no piece covers
 *       falls back to the byte tokens <0x00>..<0xFF> (else <unk>);
 *   "gpt2" (ZK_TOK_BPE): byte-level BPE with ranked merges (GPT-2's byte ->
 *       printable-character map) after Llama 3's pre-tokenizer split
 *       (contractions, letter runs, 1-3 digit groups, punctuation runs,
 *       newlines, spaces).  Unicode letter/number classes are approximated
 *       by ranges (exact for ASCII, Latin-1, CJK; see bpe_class in
 *       tokenizer_gguf.c).
 * Special tokens (GGUF token_type CONTROL / USER_DEFINED, e.g. <s>,
 * <|begin_of_text|>, <|eot_id|>) are matched verbatim in the text only when
 * the caller asks (parse_special), so user text cannot inject them.
 *
 * Chat templates: built-in formatting for the common families, chosen from
 * the model's tokenizer.chat_template text (or by name): "llama2"
 * ([INST] ... [/INST], <<SYS>>), "llama3" (<|start_header_id|>...),
 * "chatml" (<|im_start|>, Qwen/Yi/TinyLlama-chat variants), "zephyr"
 * (<|user|>, TinyLlama 1.1B chat), "mistral" ([INST] without system
 * block), "gemma" (<start_of_turn>).  Jinja itself is not interpreted.
 */
#ifndef ZK_TOKENIZER_H
#define ZK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct zk_gguf;

enum zk_tok_kind { ZK_TOK_SPM = 1, ZK_TOK_BPE = 2 };

/* GGUF tokenizer.ggml.token_type values. */
enum zk_tok_type {
    ZK_TOKT_NORMAL = 1, ZK_TOKT_UNKNOWN = 2, ZK_TOKT_CONTROL = 3,
    ZK_TOKT_USER_DEFINED = 4, ZK_TOKT_UNUSED = 5, ZK_TOKT_BYTE = 6,
};

/* Everything a tokenizer is made of; arrays are copied by zk_tokenizer_new. */
typedef struct zk_tokenizer_desc {
    int kind;                           /* enum zk_tok_kind */
    int32_t n_vocab;
    const char *const *tokens;          /* [n_vocab] NUL-terminated pieces */
    const float *scores;                /* SPM: [n_vocab] (NULL: all 0) */
    const int32_t *types;               /* [n_vocab] zk_tok_type (NULL: all normal) */
    const char *const *merges;          /* BPE: "left right", rank = index */
    int32_t n_merges;
    int32_t bos, eos, eot, unk, pad;    /* -1 = none */
    int add_bos, add_eos;               /* add them when encoding with add_special */
    int add_space_prefix;               /* SPM: leading "▁" (default on) */
    const char *chat_template;          /* NULL: none */
} zk_tokenizer_desc;

typedef struct zk_tokenizer zk_tokenizer;

zk_tokenizer *zk_tokenizer_new(const zk_tokenizer_desc *d, char *err, size_t errlen);
/** From the tokenizer.ggml.* keys of an open GGUF file. */
zk_tokenizer *zk_tokenizer_from_gguf(const struct zk_gguf *g, char *err, size_t errlen);
/** From a llama2.c tokenizer.bin of @n_vocab tokens (SPM; ids 0 <unk>,
 *  1 <s>, 2 </s>, 3..258 bytes). */
zk_tokenizer *zk_tokenizer_from_llama2c(const char *path, int32_t n_vocab, char *err, size_t errlen);
void zk_tokenizer_free(zk_tokenizer *t);

/**
 * Encode @len bytes of @text into @out (room for @cap ids).  @add_special:
 * prepend BOS / append EOS as the model asks; @parse_special: turn special
 * token text into those tokens.  Returns the number of ids (if it exceeds
 * @cap only the first @cap were written: call again with more room), or -1
 * if the text is not valid for the model (no <unk> and no byte token).
 */
int32_t zk_tokenizer_encode(const zk_tokenizer *t, const char *text, size_t len, int add_special,
                            int parse_special, int32_t *out, int32_t cap);

/**
 * The bytes of one token (SPM: "▁" -> " ", <0xXX> -> the byte; BPE: the
 * byte-level characters mapped back to bytes; control tokens: their text,
 * or nothing if @skip_special).  A token's bytes may end inside a UTF-8
 * character: streaming callers buffer incomplete sequences.  Returns the
 * byte count (written up to @cap, no NUL) or -1 for an invalid id.
 */
int32_t zk_tokenizer_piece(const zk_tokenizer *t, int32_t token, int skip_special, char *buf,
                           size_t cap);
/**
 * Decode @n tokens into @buf (NUL-terminated if it fits).  SPM: the space
 * the encoder prefixed to the first piece is removed when the first token
 * (after BOS) starts with one.  Returns the byte count (like snprintf: may
 * exceed @cap - 1) or -1 for an invalid id.
 */
int32_t zk_tokenizer_decode(const zk_tokenizer *t, const int32_t *tokens, size_t n,
                            int skip_special, char *buf, size_t cap);

int32_t zk_tokenizer_n_vocab(const zk_tokenizer *t);
int zk_tokenizer_kind(const zk_tokenizer *t);
int32_t zk_tokenizer_bos(const zk_tokenizer *t);
int32_t zk_tokenizer_eos(const zk_tokenizer *t);
/** End of generation: EOS, EOT (<|eot_id|>, <|im_end|>, <end_of_turn>). */
int zk_tokenizer_is_eog(const zk_tokenizer *t, int32_t token);
/** Id of the exact piece @text, or -1. */
int32_t zk_tokenizer_find(const zk_tokenizer *t, const char *text);
const char *zk_tokenizer_chat_template(const zk_tokenizer *t);   /* NULL if none */
struct zk_gguf_writer;
/** Write the tokenizer.ggml.* keys of @t (models generated for tests). */
int zk_tokenizer_write_gguf(const zk_tokenizer *t, struct zk_gguf_writer *w);

/* ------------------------------------------------------------------ */
/* Chat templates                                                      */
/* ------------------------------------------------------------------ */
typedef struct zk_chat_msg {
    const char *role;                   /* "system", "user", "assistant" */
    const char *content;
} zk_chat_msg;

/** Built-in template name for a Jinja template text or a name ("llama3",
 *  "chatml", ...): NULL if not recognised. */
const char *zk_chat_template_detect(const char *tmpl);
/**
 * Format @n messages with the template @tmpl (Jinja text from the model or
 * a built-in name; NULL = "chatml"), ending with the assistant prefix if
 * @add_generation_prompt.  The text includes the special-token text (e.g.
 * "<|start_header_id|>"): encode it with parse_special.  BOS is not
 * included (encode with add_special).  Returns the byte count (like
 * snprintf) or -1 if the template is not recognised or a role is unknown.
 */
int32_t zk_chat_apply(const char *tmpl, const zk_chat_msg *msgs, size_t n, int add_generation_prompt,
                      char *buf, size_t cap);

#endif
