/* SPDX-License-Identifier: MIT */
/*
 * test_fw.c - host unit tests (cmocka, TAP) for the firmware image builder
 * (firmware-stub/zk_fwbuild.c) and the device's image check
 * (qemu-device/zhikai-fwcheck.c), including malformed images.
 * Built and run by `make -C firmware-stub test` with ASan/UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "zhikai_hw.h"
#include "zhikai_isa.h"
#include "zhikai-fwcheck.h"
#include "zk_fwbuild.h"

static const char payload[] = "test payload: zhikai firmware \x01\x02\x03";

static uint8_t *build(enum zk_fw_corrupt c, size_t *len)
{
    struct zk_fw_opts o;
    uint8_t *img = NULL;

    zk_fw_opts_default(&o);
    o.corrupt = c;
    assert_int_equal(zk_fw_build(payload, sizeof(payload), &o, &img, len), 0);
    assert_non_null(img);
    return img;
}

/* Copy into an exactly-sized heap buffer so ASan sees any overread. */
static int check_exact(const uint8_t *img, size_t len,
                       struct zk_fw_header *h)
{
    uint8_t *copy = malloc(len ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, img, len);
    r = zk_fw_check(copy, len, ZK_API_VERSION, h);
    free(copy);
    return r;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static void test_good_image(void **state)
{
    struct zk_fw_header h;
    size_t len;
    uint8_t *img = build(ZK_FW_OK, &len);

    (void)state;
    assert_int_equal(len, sizeof(struct zk_fw_header) + sizeof(payload));
    assert_int_equal(check_exact(img, len, &h), ZK_BOOT_ERR_NONE);
    assert_int_equal(h.magic, ZK_FW_MAGIC);
    assert_int_equal(h.header_size, sizeof(struct zk_fw_header));
    assert_int_equal(h.image_size, len);
    assert_int_equal(h.api_version, ZK_API_VERSION);
    assert_int_equal(h.image_version, 1u << 16);
    assert_int_equal(h.reserved, 0);
    assert_int_equal(h.payload_crc32,
                     crc32(0, (const Bytef *)payload, sizeof(payload)));
    assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_QUEUES, 0), ZK_MAX_QUEUES);
    assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_HEARTBEAT_MS, 0), 100);
    assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_ISA_VERSION, 0), ZK_ISA_VERSION);
    assert_int_equal(zk_fw_cap(&h, 99, 1234), 1234);
    assert_memory_equal(img + h.header_size, payload, sizeof(payload));
    free(img);
}

static void test_options(void **state)
{
    struct zk_fw_opts o;
    struct zk_fw_header h;
    uint8_t *img;
    size_t len;

    (void)state;
    zk_fw_opts_default(&o);
    o.image_version = 0x020304;
    assert_int_equal(zk_fw_opts_set_cap(&o, ZK_FW_CAP_QUEUES, 4), 0);
    assert_int_equal(zk_fw_opts_set_cap(&o, ZK_FW_CAP_HEARTBEAT_MS, 25), 0);
    assert_int_equal(o.num_caps, 3);        /* replaced, not appended */
    for (uint32_t id = 10; o.num_caps < ZK_FW_MAX_CAPS; id++) {
        assert_int_equal(zk_fw_opts_set_cap(&o, id, id), 0);
    }
    assert_int_equal(zk_fw_opts_set_cap(&o, 100, 1), -1);   /* full */
    assert_int_equal(zk_fw_build(payload, sizeof(payload), &o, &img, &len),
                     0);
    assert_int_equal(check_exact(img, len, &h), 0);
    assert_int_equal(h.image_version, 0x020304);
    assert_int_equal(h.num_caps, ZK_FW_MAX_CAPS);
    assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_QUEUES, 0), 4);
    assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_HEARTBEAT_MS, 0), 25);
    assert_int_equal(zk_fw_cap(&h, 12, 0), 12);
    free(img);

    /* Empty payload is a valid image. */
    zk_fw_opts_default(&o);
    assert_int_equal(zk_fw_build(NULL, 0, &o, &img, &len), 0);
    assert_int_equal(len, sizeof(struct zk_fw_header));
    assert_int_equal(check_exact(img, len, NULL), 0);
    free(img);

    /* Bad arguments. */
    assert_int_equal(zk_fw_build(NULL, 5, &o, &img, &len), -1);
    o.num_caps = ZK_FW_MAX_CAPS + 1;
    assert_int_equal(zk_fw_build(payload, 4, &o, &img, &len), -1);
    zk_fw_opts_default(&o);
    o.corrupt = ZK_FW_CORRUPT_COUNT;
    assert_int_equal(zk_fw_build(payload, 4, &o, &img, &len), -1);
}

static void test_corrupt_names(void **state)
{
    (void)state;
    for (int c = 0; c < ZK_FW_CORRUPT_COUNT; c++) {
        assert_int_equal(zk_fw_corrupt_parse(zk_fw_corrupt_name(c)), c);
    }
    assert_int_equal(zk_fw_corrupt_parse("nonsense"), -1);
    assert_int_equal(zk_fw_corrupt_parse("crc"), ZK_FW_BAD_CRC);
    assert_int_equal(zk_fw_corrupt_parse("truncate"), ZK_FW_TRUNCATED);
}

static void test_wrong_crc(void **state)
{
    size_t len;
    uint8_t *img = build(ZK_FW_BAD_CRC, &len);

    (void)state;
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_CRC);
    free(img);

    /* Any flipped payload byte is caught. */
    img = build(ZK_FW_OK, &len);
    for (size_t i = sizeof(struct zk_fw_header); i < len; i++) {
        img[i] ^= 0x40;
        assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_CRC);
        img[i] ^= 0x40;
    }
    assert_int_equal(check_exact(img, len, NULL), 0);
    free(img);
}

static void test_wrong_magic(void **state)
{
    size_t len;
    uint8_t *img = build(ZK_FW_BAD_MAGIC, &len);

    (void)state;
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_MAGIC);
    free(img);
    img = build(ZK_FW_OK, &len);
    img[0] ^= 1;
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_MAGIC);
    /* Magic is checked before anything else, even on a short buffer. */
    assert_int_equal(check_exact(img, 8, NULL), ZK_BOOT_ERR_MAGIC);
    free(img);

    img = build(ZK_FW_BAD_RESERVED, &len);
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_MAGIC);
    free(img);
}

static void test_wrong_api(void **state)
{
    struct zk_fw_header h;
    size_t len;
    uint8_t *img = build(ZK_FW_BAD_API, &len);

    (void)state;
    assert_int_equal(check_exact(img, len, &h), ZK_BOOT_ERR_API);
    assert_int_equal(h.api_version >> 16, ZK_API_VERSION_MAJOR + 1);
    free(img);

    /* A different minor is compatible; a different device major is not. */
    img = build(ZK_FW_OK, &len);
    put32(img + 12, ZK_API_VERSION + 7);
    assert_int_equal(check_exact(img, len, NULL), 0);
    assert_int_equal(zk_fw_check(img, len, (ZK_API_VERSION_MAJOR + 1) << 16,
                                 NULL), ZK_BOOT_ERR_API);
    put32(img + 12, 0);
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_API);
    free(img);
}

static void test_truncated(void **state)
{
    size_t len, full;
    uint8_t *img = build(ZK_FW_TRUNCATED, &len);

    (void)state;
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    free(img);

    /* Every prefix of a good image is rejected, without overreads. */
    img = build(ZK_FW_OK, &full);
    for (size_t n = 0; n < full; n++) {
        int r = check_exact(img, n, NULL);
        assert_true(r == ZK_BOOT_ERR_SIZE ||
                    (n >= 4 && r == ZK_BOOT_ERR_MAGIC) || n < 4);
        assert_int_not_equal(r, 0);
    }
    /* An image with trailing garbage (FW_SIZE too big) is rejected too. */
    {
        uint8_t *big = calloc(1, full + 64);
        assert_non_null(big);
        memcpy(big, img, full);
        assert_int_equal(check_exact(big, full + 64, NULL), ZK_BOOT_ERR_SIZE);
        free(big);
    }
    assert_int_equal(zk_fw_check(NULL, 100, ZK_API_VERSION, NULL),
                     ZK_BOOT_ERR_SIZE);
    free(img);
}

static void test_oversized(void **state)
{
    struct zk_fw_header h;
    size_t len;
    uint8_t *img = build(ZK_FW_OVERSIZE, &len);

    (void)state;
    assert_true(len > ZK_FW_MAX_SIZE);
    assert_int_equal(check_exact(img, len, &h), ZK_BOOT_ERR_SIZE);
    assert_int_equal(h.image_size, len);
    free(img);
}

static void test_bad_header_fields(void **state)
{
    size_t len;
    uint8_t *img = build(ZK_FW_BAD_HEADER_SIZE, &len);

    (void)state;
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    free(img);

    img = build(ZK_FW_OK, &len);
    put32(img + 4, len + 8);                        /* header > image */
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 4, sizeof(struct zk_fw_header) + 4); /* not 8-aligned */
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 4, 0xffffffff);
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 4, sizeof(struct zk_fw_header));
    put32(img + 24, ZK_FW_MAX_CAPS + 1);            /* too many caps */
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 24, 3);
    put32(img + 16, len - 1);                       /* image_size mismatch */
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 16, 0xffffffff);
    assert_int_equal(check_exact(img, len, NULL), ZK_BOOT_ERR_SIZE);
    put32(img + 16, len);
    assert_int_equal(check_exact(img, len, NULL), 0);
    free(img);
}

/* Random headers around a valid image: never crash, never accept junk. */
static void test_random_garbage(void **state)
{
    size_t len;
    uint8_t *good = build(ZK_FW_OK, &len);
    uint32_t seed = 12345;

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t *img = malloc(len);
        size_t n;
        int r;

        assert_non_null(img);
        memcpy(img, good, len);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 1103515245 + 12345;
            img[(seed >> 8) % len] ^= 1u << ((seed >> 4) & 7);
        }
        seed = seed * 1103515245 + 12345;
        n = (iter & 7) ? len : (seed >> 8) % (len + 1);
        r = check_exact(img, n, NULL);
        if (r == 0) {
            /* Only acceptable if the image is still self-consistent. */
            assert_int_equal(n, len);
            assert_memory_equal(img + sizeof(struct zk_fw_header),
                                good + sizeof(struct zk_fw_header),
                                len - sizeof(struct zk_fw_header));
        }
        free(img);
    }
    free(good);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? n : 1);
    if (!buf || fread(buf, 1, n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The images `make -C firmware-stub` produced (ZK_FW_DIR). */
static void test_built_images(void **state)
{
    static const struct { const char *name; int err; } files[] = {
        { "zhikai/zk100.bin", ZK_BOOT_ERR_NONE },
        { "bad/bad-crc.bin", ZK_BOOT_ERR_CRC },
        { "bad/bad-magic.bin", ZK_BOOT_ERR_MAGIC },
        { "bad/bad-api.bin", ZK_BOOT_ERR_API },
        { "bad/truncated.bin", ZK_BOOT_ERR_SIZE },
    };
    const char *dir = getenv("ZK_FW_DIR");

    (void)state;
    if (!dir) {
        skip();
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        struct zk_fw_header h;
        size_t len;
        uint8_t *img;

        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        img = slurp(path, &len);
        if (!img) {
            fail_msg("cannot read %s", path);
        }
        assert_int_equal(check_exact(img, len, &h), files[i].err);
        if (files[i].err == ZK_BOOT_ERR_NONE) {
            assert_int_equal(h.image_version, 1u << 16);
            assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_QUEUES, 0), 16);
            assert_int_equal(zk_fw_cap(&h, ZK_FW_CAP_HEARTBEAT_MS, 0), 100);
        }
        free(img);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_image),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_corrupt_names),
        cmocka_unit_test(test_wrong_crc),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_wrong_api),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_built_images),
    };

    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("zhikai firmware", tests, NULL, NULL);
}
