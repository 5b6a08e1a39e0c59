/* SPDX-License-Identifier: MIT */
/*
 * test_llm_sampler.c - the sampler (runtime/llm/sampler.h): greedy,
 * penalties against hand-computed logits, and the distributions of
 * temperature / top-k / top-p / min-p on fixed seeds against the exact
 * probabilities (each frequency within 5 standard deviations over 40,000
 * draws), seed reproducibility, candidate lists equal to the full vocabulary.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sampler.h"

#define DRAWS 40000

static zk_sampler *mk(float temp, int top_k, float top_p, float min_p, uint64_t seed, int n)
{
    zk_sampler_params p;
    zk_sampler_params_default(&p);
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = seed;
    zk_sampler *s = zk_sampler_new(&p, n);
    assert_non_null(s);
    return s;
}

/* Draw DRAWS tokens and compare each frequency with want[] (binomial
 * standard deviation; want 0 must never be drawn). */
static void check_distribution(zk_sampler *s, const float *logits, const double *want, int n)
{
    int count[16] = { 0 };
    for (int i = 0; i < DRAWS; i++) {
        int32_t t = zk_sampler_sample(s, logits, NULL);
        assert_true(t >= 0 && t < n);
        count[t]++;
    }
    for (int i = 0; i < n; i++) {
        double f = (double)count[i] / DRAWS, sd = sqrt(want[i] * (1 - want[i]) / DRAWS);
        if (want[i] == 0) {
            assert_int_equal(count[i], 0);
        } else if (fabs(f - want[i]) > 5 * sd + 1e-9) {
            fail_msg("token %d: frequency %.4f, want %.4f (sd %.4f)", i, f, want[i], sd);
        }
    }
}

static void softmax_ref(const float *l, double *p, int n, float temp, const int *keep)
{
    double sum = 0, mx = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (keep[i] && l[i] / temp > mx) {
            mx = l[i] / temp;
        }
    }
    for (int i = 0; i < n; i++) {
        p[i] = keep[i] ? exp(l[i] / temp - mx) : 0;
        sum += p[i];
    }
    for (int i = 0; i < n; i++) {
        p[i] /= sum;
    }
}

static const float L[6] = { 1.0f, 2.5f, 0.3f, 2.0f, -1.0f, 1.7f };
static const int ALL[6] = { 1, 1, 1, 1, 1, 1 };

static void test_greedy(void **state)
{
    (void)state;
    zk_sampler *s = mk(0, 0, 1, 0, 1, 6);
    float p;
    assert_int_equal(zk_sampler_sample(s, L, &p), 1);
    assert_true(p == 1.0f);
    float tie[4] = { 0, 3, 3, -1 };
    zk_sampler_free(s);
    s = mk(0, 0, 1, 0, 1, 4);
    assert_int_equal(zk_sampler_sample(s, tie, NULL), 1);      /* lowest id on ties */
    float nan_first[3] = { NAN, 1, 0 };
    zk_sampler_free(s);
    s = mk(0, 0, 1, 0, 1, 3);
    assert_int_equal(zk_sampler_sample(s, nan_first, NULL), 1);
    zk_sampler_free(s);
}

static void test_temperature_distribution(void **state)
{
    (void)state;
    double want[6];
    for (int t = 0; t < 2; t++) {
        float temp = t ? 0.7f : 1.0f;
        zk_sampler *s = mk(temp, 0, 1, 0, 1234 + t, 6);
        softmax_ref(L, want, 6, temp, ALL);
        check_distribution(s, L, want, 6);
        zk_sampler_free(s);
    }
}

static void test_top_k_distribution(void **state)
{
    (void)state;
    double want[6];
    const int keep[6] = { 0, 1, 0, 1, 0, 1 };   /* the 3 highest: 2.5, 2.0, 1.7 */
    zk_sampler *s = mk(1.0f, 3, 1, 0, 99, 6);
    softmax_ref(L, want, 6, 1.0f, keep);
    check_distribution(s, L, want, 6);
    zk_sampler_free(s);
}

static void test_top_p_distribution(void **state)
{
    (void)state;
    double full[6], want[6];
    softmax_ref(L, full, 6, 1.0f, ALL);
    /* Sorted: 1 (2.5), 3 (2.0), 5 (1.7), 0 (1.0), 2, 4.  p = the mass of
     * the first two plus half the third: keeps exactly three. */
    float top_p = (float)(full[1] + full[3] + full[5] / 2);
    const int keep[6] = { 0, 1, 0, 1, 0, 1 };
    zk_sampler *s = mk(1.0f, 0, top_p, 0, 7, 6);
    softmax_ref(L, want, 6, 1.0f, keep);
    check_distribution(s, L, want, 6);
    zk_sampler_free(s);
}

static void test_min_p_distribution(void **state)
{
    (void)state;
    double full[6], want[6];
    softmax_ref(L, full, 6, 1.0f, ALL);
    /* Keep tokens with p >= 0.3 * p_max: exp(l - 2.5) >= 0.3 <=> l >= 1.296:
     * tokens 1, 3, 5. */
    const int keep[6] = { 0, 1, 0, 1, 0, 1 };
    zk_sampler *s = mk(1.0f, 0, 1, 0.3f, 8, 6);
    softmax_ref(L, want, 6, 1.0f, keep);
    check_distribution(s, L, want, 6);
    zk_sampler_free(s);
    /* Combined: top-k 4 then top-p ~ first only (p tiny) -> always token 1. */
    s = mk(1.0f, 4, 0.01f, 0, 9, 6);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(zk_sampler_sample(s, L, NULL), 1);
    }
    zk_sampler_free(s);
}

static void test_penalties(void **state)
{
    (void)state;
    zk_sampler_params p;
    zk_sampler_params_default(&p);
    /* Repetition 2.0: token 1 (2.5 -> 1.25) loses to token 3 (2.0). */
    p.repeat_penalty = 2.0f;
    zk_sampler *s = zk_sampler_new(&p, 6);
    zk_sampler_accept(s, 1);
    assert_int_equal(zk_sampler_sample(s, L, NULL), 3);
    /* Then 3 seen too: 2.0 -> 1.0, now 5 (1.7) wins. */
    zk_sampler_accept(s, 3);
    assert_int_equal(zk_sampler_sample(s, L, NULL), 5);
    zk_sampler_free(s);

    /* Exact values through a candidate list: repeat 1.5, presence 0.25,
     * frequency 0.5, token 4 (negative logit) seen twice, token 0 once. */
    p.repeat_penalty = 1.5f;
    p.presence_penalty = 0.25f;
    p.frequency_penalty = 0.5f;
    s = zk_sampler_new(&p, 6);
    zk_sampler_accept(s, 4);
    zk_sampler_accept(s, 0);
    zk_sampler_accept(s, 4);
    zk_sampler_accept(s, 77);                   /* outside the vocabulary: ignored */
    zk_token_prob c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = (zk_token_prob){ i, L[i], 0 };
    }
    assert_int_equal(zk_sampler_sample_candidates(s, c, 6, NULL), 1);
    assert_float_equal(c[0].logit, 1.0f / 1.5f - 0.25f - 0.5f, 1e-6);
    assert_float_equal(c[4].logit, -1.0f * 1.5f - 0.25f - 1.0f, 1e-6);
    assert_float_equal(c[1].logit, 2.5f, 0);
    zk_sampler_free(s);

    /* Window of 2: the oldest token leaves the window. */
    zk_sampler_params_default(&p);
    p.repeat_penalty = 100.0f;
    p.penalty_last_n = 2;
    s = zk_sampler_new(&p, 6);
    zk_sampler_accept(s, 1);
    zk_sampler_accept(s, 3);
    assert_int_equal(zk_sampler_sample(s, L, NULL), 5);
    zk_sampler_accept(s, 5);                    /* 1 falls out */
    assert_int_equal(zk_sampler_sample(s, L, NULL), 1);
    zk_sampler_reset(s);
    assert_int_equal(zk_sampler_sample(s, L, NULL), 1);
    zk_sampler_free(s);
}

static void test_seed_reproducible(void **state)
{
    (void)state;
    int32_t a[200], b[200];
    int diff = 0;
    for (int run = 0; run < 3; run++) {
        zk_sampler *s = mk(1.0f, 0, 1, 0, run == 2 ? 43 : 42, 6);
        for (int i = 0; i < 200; i++) {
            int32_t t = zk_sampler_sample(s, L, NULL);
            if (run == 0) {
                a[i] = t;
            } else if (run == 1) {
                b[i] = t;
            } else {
                diff += t != a[i];
            }
        }
        if (run == 1) {
            assert_memory_equal(a, b, sizeof(a));
        }
        zk_sampler_free(s);
    }
    assert_true(diff > 20);                     /* another seed, another stream */
    /* reset restarts the stream */
    zk_sampler *s = mk(1.0f, 0, 1, 0, 42, 6);
    for (int i = 0; i < 50; i++) {
        zk_sampler_sample(s, L, NULL);
    }
    zk_sampler_reset(s);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(zk_sampler_sample(s, L, NULL), a[i]);
    }
    zk_sampler_free(s);
}

static void test_candidates_match_full(void **state)
{
    (void)state;
    enum { V = 5000, K = 40 };
    float *l = malloc(V * sizeof(float));
    zk_token_prob *c = malloc(V * sizeof(*c));
    uint64_t r = 5;
    for (int i = 0; i < V; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        l[i] = (float)((r >> 40) % 10000) / 1000.0f;
    }
    zk_sampler *full = mk(0.8f, K, 0.9f, 0.05f, 3, V), *part = mk(0.8f, K, 0.9f, 0.05f, 3, V);
    assert_false(zk_sampler_needs_full_logits(full));
    for (int step = 0; step < 300; step++) {
        /* The K best by a separate partial sort, in a scrambled order. */
        for (int i = 0; i < V; i++) {
            c[i] = (zk_token_prob){ i, l[i], 0 };
        }
        zk_token_prob top[K];
        for (int k = 0; k < K; k++) {
            int b = -1;
            for (int i = 0; i < V; i++) {
                if (c[i].id >= 0 && (b < 0 || c[i].logit > c[b].logit)) {
                    b = i;
                }
            }
            top[(k * 7) % K] = c[b];
            c[b].id = -1;
        }
        assert_int_equal(zk_sampler_sample(full, l, NULL),
                         zk_sampler_sample_candidates(part, top, K, NULL));
        l[step % V] += 0.5f;
    }
    zk_sampler_free(full);
    zk_sampler_free(part);
    free(l);
    free(c);
}

static void test_bad_params(void **state)
{
    (void)state;
    zk_sampler_params p;
    char err[128];
    zk_sampler_params_default(&p);
    assert_int_equal(zk_sampler_params_check(&p, err, sizeof(err)), 0);
    p.top_p = 0;
    assert_int_equal(zk_sampler_params_check(&p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "top_p"));
    assert_null(zk_sampler_new(&p, 10));
    zk_sampler_params_default(&p);
    p.temperature = NAN;
    assert_int_equal(zk_sampler_params_check(&p, err, sizeof(err)), -1);
    zk_sampler_params_default(&p);
    p.repeat_penalty = 0;
    assert_int_equal(zk_sampler_params_check(&p, err, sizeof(err)), -1);
    zk_sampler_params_default(&p);
    p.min_p = 1.0f;
    assert_int_equal(zk_sampler_params_check(&p, err, sizeof(err)), -1);
    zk_sampler_params_default(&p);
    assert_null(zk_sampler_new(&p, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_temperature_distribution),
        cmocka_unit_test(test_top_k_distribution),
        cmocka_unit_test(test_top_p_distribution),
        cmocka_unit_test(test_min_p_distribution),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_seed_reproducible),
        cmocka_unit_test(test_candidates_match_full),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
