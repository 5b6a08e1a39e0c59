/* SPDX-License-Identifier: MIT */
/*
 * chat.c - built-in chat templates (tokenizer.h): the model's Jinja
 * template text is recognised by its marker strings, as llama.cpp does,
 * and the conversation is formatted by C code for that family.
 */
#include <string.h>

#include "tokenizer.h"

static const char *const names[] = { "chatml", "llama3", "llama2", "mistral", "zephyr", "gemma" };

const char *zk_chat_template_detect(const char *tmpl)
{
    if (!tmpl) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(tmpl, names[i])) {
            return names[i];
        }
    }
    if (strstr(tmpl, "<|start_header_id|>")) {
        return "llama3";
    }
    if (strstr(tmpl, "<|im_start|>")) {
        return "chatml";
    }
    if (strstr(tmpl, "<start_of_turn>")) {
        return "gemma";
    }
    if (strstr(tmpl, "<|user|>")) {
        return "zephyr";
    }
    if (strstr(tmpl, "[INST]")) {
        return strstr(tmpl, "<<SYS>>") ? "llama2" : "mistral";
    }
    return NULL;
}

typedef struct out {
    char *buf;
    size_t cap, n;
} out;

static void put(out *o, const char *s)
{
    for (; *s; s++, o->n++) {
        if (o->n < o->cap) {
            o->buf[o->n] = *s;
        }
    }
}

enum { R_SYSTEM, R_USER, R_ASSISTANT };

static int role_of(const char *r)
{
    if (!r) {
        return -1;
    }
    if (!strcmp(r, "system")) {
        return R_SYSTEM;
    }
    if (!strcmp(r, "user")) {
        return R_USER;
    }
    if (!strcmp(r, "assistant")) {
        return R_ASSISTANT;
    }
    return -1;
}

int32_t zk_chat_apply(const char *tmpl, const zk_chat_msg *msgs, size_t n, int add_generation_prompt,
                      char *buf, size_t cap)
{
    const char *name = zk_chat_template_detect(tmpl ? tmpl : "chatml");
    out o = { buf, cap, 0 };
    const char *sys = NULL;     /* llama2/mistral/gemma: folded into the first user turn */
    int first_user = 1;
    if (!name) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (role_of(msgs[i].role) < 0 || !msgs[i].content) {
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int role = role_of(msgs[i].role);
        const char *c = msgs[i].content;
        if (!strcmp(name, "chatml")) {
            put(&o, "<|im_start|>");
            put(&o, msgs[i].role);
            put(&o, "\n");
            put(&o, c);
            put(&o, "<|im_end|>\n");
        } else if (!strcmp(name, "llama3")) {
            put(&o, "<|start_header_id|>");
            put(&o, msgs[i].role);
            put(&o, "<|end_header_id|>\n\n");
            put(&o, c);
            put(&o, "<|eot_id|>");
        } else if (!strcmp(name, "zephyr")) {
            put(&o, role == R_SYSTEM ? "<|system|>\n" : role == R_USER ? "<|user|>\n" : "<|assistant|>\n");
            put(&o, c);
            put(&o, "</s>\n");
        } else if (role == R_SYSTEM) {
            sys = c;            /* llama2, mistral, gemma */
        } else if (!strcmp(name, "gemma")) {
            put(&o, role == R_USER ? "<start_of_turn>user\n" : "<start_of_turn>model\n");
            if (role == R_USER && sys) {
                put(&o, sys);
                put(&o, "\n\n");
                sys = NULL;
            }
            put(&o, c);
            put(&o, "<end_of_turn>\n");
        } else if (role == R_USER) {    /* llama2, mistral */
            put(&o, first_user ? "[INST] " : "<s>[INST] ");
            if (sys) {
                int l2 = !strcmp(name, "llama2");
                put(&o, l2 ? "<<SYS>>\n" : "");
                put(&o, sys);
                put(&o, l2 ? "\n<</SYS>>\n\n" : "\n\n");
                sys = NULL;
            }
            put(&o, c);
            put(&o, " [/INST]");
            first_user = 0;
        } else {
            put(&o, " ");
            put(&o, c);
            put(&o, " </s>");
        }
    }
    if (add_generation_prompt) {
        if (!strcmp(name, "chatml")) {
            put(&o, "<|im_start|>assistant\n");
        } else if (!strcmp(name, "llama3")) {
            put(&o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        } else if (!strcmp(name, "zephyr")) {
            put(&o, "<|assistant|>\n");
        } else if (!strcmp(name, "gemma")) {
            put(&o, "<start_of_turn>model\n");
        }
        /* llama2 / mistral: the prompt already ends with [/INST]. */
    }
    if (cap) {
        buf[o.n < cap ? o.n : cap - 1] = 0;
    }
    return o.n > INT32_MAX ? -1 : (int32_t)o.n;
}
