/* SPDX-License-Identifier: MIT */
/*
 * zk-jsoncheck - strict RFC 8259 validator for the test VM, which has no jq.
 * usage: zk-jsoncheck [FILE]   (stdin without FILE)
 * Exit 0 when the input is exactly one JSON value (plus whitespace), else 1
 * with the byte offset of the first error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *p, *start;
static int depth;

static void ws(void)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
}

static int value(void);

static int string(void)
{
    if (*p != '"') {
        return 0;
    }
    p++;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) {
            return 0;
        }
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                int i;
                for (i = 1; i <= 4; i++) {
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) {
                        return 0;
                    }
                }
                p += 5;
                continue;
            }
            if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return 0;
            }
        }
        p++;
    }
    p++;
    return 1;
}

static int digits(void)
{
    const char *s = p;
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    return p > s;
}

static int number(void)
{
    if (*p == '-') {
        p++;
    }
    if (*p == '0') {
        p++;
    } else if (!digits()) {
        return 0;
    }
    if (*p == '.') {
        p++;
        if (!digits()) {
            return 0;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!digits()) {
            return 0;
        }
    }
    return 1;
}

static int lit(const char *s)
{
    size_t n = strlen(s);
    if (strncmp(p, s, n) != 0) {
        return 0;
    }
    p += n;
    return 1;
}

static int container(char close)
{
    if (++depth > 512) {
        return 0;
    }
    p++;
    ws();
    if (*p == close) {
        p++;
        depth--;
        return 1;
    }
    for (;;) {
        ws();
        if (close == '}') {
            if (!string()) {
                return 0;
            }
            ws();
            if (*p++ != ':') {
                return 0;
            }
            ws();
        }
        if (!value()) {
            return 0;
        }
        ws();
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == close) {
            p++;
            depth--;
            return 1;
        }
        return 0;
    }
}

static int value(void)
{
    switch (*p) {
    case '{': return container('}');
    case '[': return container(']');
    case '"': return string();
    case 't': return lit("true");
    case 'f': return lit("false");
    case 'n': return lit("null");
    default: return number();
    }
}

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);

    if (!f || !buf) {
        perror("zk-jsoncheck");
        return 2;
    }
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                return 2;
            }
            buf = nb;
            cap *= 2;
        }
    }
    buf[len] = 0;
    if (strlen(buf) != len) {
        fprintf(stderr, "zk-jsoncheck: NUL byte in input\n");
        return 1;
    }
    start = p = buf;
    ws();
    if (!value() || (ws(), *p)) {
        fprintf(stderr, "zk-jsoncheck: invalid JSON at byte %ld\n", (long)(p - start));
        free(buf);
        return 1;
    }
    free(buf);
    return 0;
}
