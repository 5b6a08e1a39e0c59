/* SPDX-License-Identifier: MIT */
/*
 * test_resilience.c - in-VM test of the runtime's behaviour across device
 * resets (issue 8, "runtime resilience"): a hang surfaces as a clear error on
 * the affected stream, no call hangs in the runtime, the context recovers
 * (zk_stream_clear_error) or, once the driver bans it, is reported lost
 * (ZK_ERROR_DEVICE_LOST) while a new context works; another context of the
 * same process that did nothing wrong keeps working throughout.
 *
 *   1. context 1: stream A (queue qA) launches a kernel that loops forever;
 *      stream B (another queue) has finished work and, when the driver's job
 *      timeout (2 s) resets the engine, a blocked job in flight.
 *   2. further hangs of context 1 on qA (debugfs "hang_queue" when available,
 *      else the loop kernel) up to the driver's hang_ban_limit: ban.
 *   3. context 2 (a second thread) copies round trips on its own stream the
 *      whole time.
 *
 * Root (debugfs inject, sysfs); TAP on stdout.  Guest time ~10 s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zhikai/zhikai.h>
#include "zk_tap.h"
#include "zk_test_obj.h"

#define HANG_LIMIT_MS   5000            /* a hung stream's synchronize returns in */
#define NBYTES          (256u << 10)    /* copy round trip size (staged) */

/* spin(): jmp to itself, forever (no instruction budget by default). */
static const uint64_t spin_code[] = {
    ZK_INSN(ZK_OP_JMP, 0, 0, 0, 0),
};
/* flagwait(u64 *flag, u64 *out, u64 v): while (*flag == 0) ; *out = v. */
static const uint64_t flagwait_code[] = {
    ZK_INSN(ZK_OP_ARG, 1, 0, 0, 0),
    ZK_INSN(ZK_OP_ARG, 2, 0, 0, 1),
    ZK_INSN(ZK_OP_ARG, 3, 0, 0, 2),
    ZK_INSN(ZK_OP_LD64, 4, 1, 0, 0),
    ZK_INSN(ZK_OP_BEQ, 0, 4, 0, -1),
    ZK_INSN(ZK_OP_ST64, 0, 2, 3, 0),
    ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
};
static const uint64_t null_code[] = {
    ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
};
static const uint8_t flagwait_kinds[] = {ZK_ARG_PTR, ZK_ARG_PTR, ZK_ARG_U64};

static zk_device dev;
static zk_function k_spin, k_flagwait, k_null;
static unsigned int num_queues, qA, qB;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void watchdog(int sig)
{
    static const char m[] = "not ok 999 - watchdog: the test (runtime) hung for 120 s\n"
                            "Bail out! hung\n";
    (void)sig;
    if (write(1, m, sizeof(m) - 1) < 0) {
        _exit(2);
    }
    _exit(1);
}

/* ---- debugfs / sysfs ----------------------------------------------------- */

static int read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r;
    if (fd < 0) {
        return -1;
    }
    r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0) {
        return -1;
    }
    buf[r] = 0;
    return (int)r;
}

static const char *debugfs_inject(void)
{
    static char path[300];
    char probe[300], buf[32];
    struct dirent *de;
    DIR *d = opendir("/sys/kernel/debug/accel");
    int i;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/sys/kernel/debug/accel/%s/inject", de->d_name);
        if (!access(path, W_OK)) {
            closedir(d);
            return path;
        }
    }
    if (d) {
        closedir(d);
    }
    for (i = 0; i < 64; i++) {
        snprintf(probe, sizeof(probe), "/sys/kernel/debug/dri/%d/name", i);
        if (read_small(probe, buf, sizeof(buf)) > 0 && !strncmp(buf, "zhikai", 6)) {
            snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/inject", i);
            return access(path, W_OK) ? NULL : path;
        }
    }
    return NULL;
}

static int inject_hang(unsigned int q)
{
    const char *p = debugfs_inject();
    char cmd[32];
    int fd, n;
    if (!p) {
        return -1;
    }
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    n = snprintf(cmd, sizeof(cmd), "hang_queue %u", q);
    n = write(fd, cmd, (size_t)n) == n ? 0 : -1;
    close(fd);
    return n;
}

static long hang_ban_limit(void)
{
    char buf[32];
    if (read_small("/sys/module/zhikai/parameters/hang_ban_limit", buf, sizeof(buf)) <= 0) {
        return -1;
    }
    return strtol(buf, NULL, 0);
}

/* ---- helpers ------------------------------------------------------------- */

static void fill32(uint32_t *p, size_t n, uint32_t seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = seed * 2654435761u + (uint32_t)i;
    }
}

static int check32(const uint32_t *p, size_t n, uint32_t seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != seed * 2654435761u + (uint32_t)i) {
            return 0;
        }
    }
    return 1;
}

static int all32(const uint32_t *p, size_t n, uint32_t v)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != v) {
            return 0;
        }
    }
    return 1;
}

/*
 * Host -> device -> pinned host round trip on @s (current context): the
 * synchronize status; *good = data came back right (only if ZK_SUCCESS).
 */
static zk_status round_trip(zk_stream s, zk_deviceptr d, uint32_t *src, uint32_t *pinned,
                            uint32_t seed, int *good)
{
    zk_status st;
    *good = 0;
    fill32(src, NBYTES / 4, seed);
    memset(pinned, 0, NBYTES);
    st = zk_memcpy_htod_async(d, src, NBYTES, s);
    if (st == ZK_SUCCESS) {
        st = zk_memcpy_dtoh_async(pinned, d, NBYTES, s);
    }
    if (st == ZK_SUCCESS) {
        st = zk_stream_synchronize(s);
    }
    if (st == ZK_SUCCESS) {
        *good = check32(pinned, NBYTES / 4, seed);
    }
    return st;
}

/* A stream of the current context on a queue not in @avoid (bitmask) if possible. */
static zk_stream stream_avoiding(unsigned int avoid, zk_stream *extra, int *nextra)
{
    zk_stream s = NULL;
    unsigned int q = 0, i;
    for (i = 0; i < num_queues + 1; i++) {
        if (zk_stream_create(&s, 0) != ZK_SUCCESS || zk_stream_get_queue(s, &q) != ZK_SUCCESS) {
            return NULL;
        }
        if (!(avoid & (1u << q))) {
            return s;
        }
        extra[(*nextra)++] = s;
    }
    return s;
}

/* ---- the innocent context (its own thread) -------------------------------- */

static struct innocent {
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int ready, stop, in_hang;
    int rounds, ok, aborted, bad, ok_during_hang, final_ok;
    unsigned int queue;
    char why[400];
} inn = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void inn_bad(const char *what, zk_status st)
{
    pthread_mutex_lock(&inn.lock);
    inn.bad++;
    if (!inn.why[0]) {
        snprintf(inn.why, sizeof(inn.why), "%s: %s (%s)", what, zk_error_name(st),
                 zk_last_error_detail());
    }
    pthread_mutex_unlock(&inn.lock);
}

static void *innocent_main(void *arg)
{
    zk_context c2;
    zk_stream s2, extra[20];
    zk_deviceptr d;
    uint32_t *src = malloc(NBYTES), *pinned = NULL;
    int nextra = 0, good, i, stop = 0;
    uint32_t seed = 0x1000;
    zk_status st;
    (void)arg;
    if (!src || zk_ctx_create(&c2, 0, dev) != ZK_SUCCESS || zk_mem_alloc(&d, NBYTES) ||
        zk_mem_alloc_host((void **)&pinned, NBYTES) ||
        !(s2 = stream_avoiding(1u << qA | 1u << qB, extra, &nextra))) {
        inn_bad("context 2 setup", ZK_ERROR_UNKNOWN);
        pthread_mutex_lock(&inn.lock);
        inn.ready = -1;
        pthread_cond_broadcast(&inn.cv);
        pthread_mutex_unlock(&inn.lock);
        return NULL;
    }
    zk_stream_get_queue(s2, &inn.queue);
    while (!stop) {
        int in_hang;
        pthread_mutex_lock(&inn.lock);
        in_hang = inn.in_hang;
        pthread_mutex_unlock(&inn.lock);
        st = round_trip(s2, d, src, pinned, ++seed, &good);
        pthread_mutex_lock(&inn.lock);
        inn.rounds++;
        if (st == ZK_SUCCESS && good) {
            inn.ok++;
            /* started and finished while context 1's stream A was hung */
            inn.ok_during_hang += in_hang && inn.in_hang;
        } else if (st == ZK_ERROR_ABORTED) {
            inn.aborted++;      /* in flight at a reset: reported, fine */
        }
        if (!inn.ready) {
            inn.ready = 1;
            pthread_cond_broadcast(&inn.cv);
        }
        stop = inn.stop;
        pthread_mutex_unlock(&inn.lock);
        if (st == ZK_SUCCESS && !good) {
            inn_bad("context 2: round trip returned wrong data with ZK_SUCCESS", st);
        } else if (st != ZK_SUCCESS && st != ZK_ERROR_ABORTED) {
            inn_bad("context 2: round trip", st);
        }
        if (st != ZK_SUCCESS) {
            zk_stream_clear_error(s2);
        }
        usleep(20000);
    }
    /* Afterwards: its stream and its default stream (queue 0) both work. */
    st = round_trip(s2, d, src, pinned, ++seed, &good);
    i = st == ZK_SUCCESS && good;
    st = round_trip(NULL, d, src, pinned, ++seed, &good);
    i &= st == ZK_SUCCESS && good;
    if (!i) {
        inn_bad("context 2: final round trips", st);
    }
    st = zk_ctx_destroy(c2);
    if (st != ZK_SUCCESS) {
        inn_bad("context 2: zk_ctx_destroy", st);
    }
    pthread_mutex_lock(&inn.lock);
    inn.final_ok = i && st == ZK_SUCCESS;
    pthread_mutex_unlock(&inn.lock);
    free(src);
    return NULL;
}

static void set_in_hang(int v)
{
    pthread_mutex_lock(&inn.lock);
    inn.in_hang = v;
    pthread_mutex_unlock(&inn.lock);
}

/* ---- context 1 ------------------------------------------------------------- */

static zk_module load_module(void)
{
    zkt_kernel ks[3] = {
        {"spin", spin_code, 1, 0, NULL},
        {"flagwait", flagwait_code, sizeof(flagwait_code) / 8, 3, flagwait_kinds},
        {"null", null_code, 1, 0, NULL},
    };
    size_t len;
    void *obj = zkt_build_obj(ks, 3, &len);
    zk_module m;
    MUST(zk_module_load_data(&m, obj, len));
    free(obj);
    MUST(zk_module_get_function(&k_spin, m, "spin"));
    MUST(zk_module_get_function(&k_flagwait, m, "flagwait"));
    MUST(zk_module_get_function(&k_null, m, "null"));
    return m;
}

static int detail_has(const char *a, const char *b)
{
    const char *d = zk_last_error_detail();
    return strstr(d, a) && (!b || strstr(d, b));
}

int main(void)
{
    static const uint32_t grid1[3] = {1, 1, 1};
    zk_device_properties props;
    zk_context c1, c3;
    zk_stream sA, sB, extra[20];
    zk_deviceptr dA, dB1, dB2;
    uint32_t *src = malloc(NBYTES), *pinA, *pinB;
    volatile uint64_t *flag;
    uint64_t args[3];
    int nextra = 0, good, goodA, goodB, i;
    long limit;
    int64_t t0, dt;
    zk_status st, stB;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, watchdog);
    alarm(120);
    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_device_get_properties(dev, &props));
    num_queues = props.num_queues;
    if (num_queues < 2 || !src) {
        printf("1..0 # SKIP needs 2 hardware queues (%u)\n", num_queues);
        return 0;
    }
    MUST(zk_ctx_create(&c1, 0, dev));
    load_module();
    MUST(zk_stream_create(&sA, 0));
    MUST(zk_stream_get_queue(sA, &qA));
    sB = stream_avoiding(1u << qA, extra, &nextra);
    if (!sB) {
        MUST(ZK_ERROR_UNKNOWN);
    }
    MUST(zk_stream_get_queue(sB, &qB));
    tap_result(qA != qB, "streams A and B on different hardware queues (%u, %u)", qA, qB);
    MUST(zk_mem_alloc(&dA, NBYTES));
    MUST(zk_mem_alloc(&dB1, NBYTES));
    MUST(zk_mem_alloc(&dB2, NBYTES));
    MUST(zk_mem_alloc_host((void **)&pinA, NBYTES));
    MUST(zk_mem_alloc_host((void **)&pinB, NBYTES));
    MUST(zk_mem_alloc_host((void **)&flag, 4096));
    memset((void *)flag, 0, 4096);

    /* Context 2 in its own thread, streaming round trips the whole time. */
    if (pthread_create(&inn.th, NULL, innocent_main, NULL) != 0) {
        MUST(ZK_ERROR_OS);
    }
    pthread_mutex_lock(&inn.lock);
    while (!inn.ready) {
        pthread_cond_wait(&inn.cv, &inn.lock);
    }
    pthread_mutex_unlock(&inn.lock);
    tap_result(inn.ready == 1 && inn.ok >= 1, "context 2 (thread, queue %u) streams round trips",
               inn.queue);

    /* ---- 1. a kernel that never ends on stream A ---- */
    /* B: work that finishes before the hang */
    EXPECT_OK(zk_memset_d32_async(dB1, 0xb1b1b1b1u, NBYTES / 4, sB));
    EXPECT_OK(zk_stream_synchronize(sB));
    set_in_hang(1);
    EXPECT_OK(zk_launch_kernel(k_spin, grid1, NULL, 0, sA));
    EXPECT_OK(zk_stream_flush(sA));
    t0 = now_ms();
    usleep(1000 * 1000);
    /* B: a job blocked on a flag when the engine is reset, then more work */
    args[0] = (uint64_t)0;
    zk_mem_host_get_device_pointer(&args[0], (void *)flag);
    args[1] = args[0] + 8;
    args[2] = 0x5eedull;
    EXPECT_OK(zk_launch_kernel(k_flagwait, grid1, args, 3, sB));
    EXPECT_OK(zk_memset_d32_async(dB2, 0xb2b2b2b2u, NBYTES / 4, sB));
    EXPECT_OK(zk_memcpy_dtoh_async(pinB, dB2, NBYTES, sB));
    EXPECT_OK(zk_stream_flush(sB));
    st = zk_stream_synchronize(sA);
    dt = now_ms() - t0;
    set_in_hang(0);
    tap_result(st == ZK_ERROR_TIMEOUT, "hung stream A: zk_stream_synchronize -> %s (want "
               "ZK_ERROR_TIMEOUT)", zk_error_name(st));
    tap_result(dt < HANG_LIMIT_MS, "hung stream A: synchronize returned after %lld ms (< %d)",
               (long long)dt, HANG_LIMIT_MS);
    printf("#   detail: %s\n", zk_last_error_detail());
    tap_result(detail_has("time limit", "reset"),
               "hung stream A: the error detail names the time limit and the reset");
    flag[0] = 1;                /* releases B's blocked job if it still runs */
    stB = zk_stream_synchronize(sB);
    printf("#   stream B in flight at the reset: %s (%s)\n", zk_error_name(stB),
           stB ? zk_last_error_detail() : "completed");
    if (stB == ZK_SUCCESS) {
        tap_result(flag[1] == 0x5eed && all32(pinB, NBYTES / 4, 0xb2b2b2b2u),
                   "stream B in-flight work: OK and its results are right");
    } else {
        tap_result(stB == ZK_ERROR_ABORTED && detail_has("reset", NULL),
                   "stream B in-flight work: %s, detail names the reset", zk_error_name(stB));
    }
    /* the error is sticky on A only */
    EXPECT(zk_launch_kernel(k_null, grid1, NULL, 0, sA), ZK_ERROR_TIMEOUT);
    EXPECT(zk_stream_query(sA), ZK_ERROR_TIMEOUT);
    EXPECT(zk_stream_clear_error(sA), ZK_ERROR_TIMEOUT);
    EXPECT(zk_stream_clear_error(sB), stB);
    EXPECT_OK(zk_stream_clear_error(sA));
    EXPECT_OK(zk_stream_clear_error(sB));
    /* B's finished work kept its results */
    memset(pinB, 0, NBYTES);
    st = zk_memcpy_dtoh(pinB, dB1, NBYTES);
    tap_result(st == ZK_SUCCESS && all32(pinB, NBYTES / 4, 0xb1b1b1b1u),
               "stream B's work finished before the hang is intact (%s)", zk_error_name(st));
    /* context 1 usable again on both streams and its default stream */
    st = round_trip(sA, dA, src, pinA, 11, &goodA);
    stB = round_trip(sB, dB2, src, pinB, 12, &goodB);
    tap_result(!st && goodA && !stB && goodB,
               "after zk_stream_clear_error: round trips on A and B work (%s, %s)",
               zk_error_name(st), zk_error_name(stB));
    st = round_trip(NULL, dA, src, pinA, 13, &good);
    tap_result(!st && good, "context 1's default stream works (%s)", zk_error_name(st));
    pthread_mutex_lock(&inn.lock);
    printf("#   context 2 so far: %d rounds, %d ok (%d while A was hung), %d aborted, %d bad\n",
           inn.rounds, inn.ok, inn.ok_during_hang, inn.aborted, inn.bad);
    tap_result(inn.ok_during_hang > 0 && inn.bad == 0,
               "context 2 kept working while stream A was hung (%d round trips)",
               inn.ok_during_hang);
    pthread_mutex_unlock(&inn.lock);

    /* ---- 2. more hangs of context 1 until the driver bans it ---- */
    limit = hang_ban_limit();
    printf("# hang_ban_limit %ld, debugfs inject %s\n", limit,
           debugfs_inject() ? debugfs_inject() : "(none)");
    if (limit < 1 || limit > 5) {
        printf("ok %d - # SKIP ban: hang_ban_limit %ld\n", ++tap_n, limit);
    } else {
        int hangs_ok = 1, between_ok = 1;
        for (i = 2; i <= limit; i++) {
            const char *how = "loop kernel";
            if (i == 2 && inject_hang(qA) == 0) {
                /* a plain memset that the (injected) hung queue never runs */
                how = "debugfs hang_queue";
                st = zk_memset_d32_async(dA, 0xa0a0a0a0u + (uint32_t)i, NBYTES / 4, sA);
            } else {
                st = zk_launch_kernel(k_spin, grid1, NULL, 0, sA);
            }
            t0 = now_ms();
            if (st == ZK_SUCCESS) {
                st = zk_stream_synchronize(sA);
            }
            dt = now_ms() - t0;
            printf("#   hang %d (%s): %s after %lld ms: %s\n", i, how, zk_error_name(st),
                   (long long)dt, zk_last_error_detail());
            if (st != ZK_ERROR_TIMEOUT || dt >= HANG_LIMIT_MS || !detail_has("time limit", NULL)) {
                hangs_ok = 0;
            }
            zk_stream_clear_error(sA);
            stB = zk_stream_synchronize(sB);      /* idle: nothing in flight */
            zk_stream_clear_error(sB);
            if (i < limit) {
                st = round_trip(sA, dA, src, pinA, 20 + (uint32_t)i, &good);
                if (st || !good || stB) {
                    between_ok = 0;
                    printf("#   context 1 after hang %d: %s / B %s\n", i, zk_error_name(st),
                           zk_error_name(stB));
                }
            }
        }
        tap_result(hangs_ok, "hangs 2..%ld of context 1: each TIMEOUT within %d ms, detail clear",
                   limit, HANG_LIMIT_MS);
        tap_result(between_ok, "context 1 works between its hangs (below the ban limit)");
        /* now banned: every submit is refused -> the context is reported lost */
        t0 = now_ms();
        st = round_trip(sA, dA, src, pinA, 30, &good);
        printf("#   banned context, stream A: %s: %s\n", zk_error_name(st),
               zk_last_error_detail());
        tap_result(st == ZK_ERROR_DEVICE_LOST && detail_has("banned", "new context"),
                   "banned context: stream A reports ZK_ERROR_DEVICE_LOST, detail says banned");
        stB = round_trip(sB, dB2, src, pinB, 31, &good);
        tap_result(stB == ZK_ERROR_DEVICE_LOST, "banned context: stream B too (%s)",
                   zk_error_name(stB));
        EXPECT(zk_stream_synchronize(sA), ZK_ERROR_DEVICE_LOST);
        tap_result(now_ms() - t0 < HANG_LIMIT_MS, "banned context: no call blocks (%lld ms)",
                   (long long)(now_ms() - t0));
    }
    t0 = now_ms();
    st = zk_ctx_destroy(c1);
    tap_result(st == ZK_SUCCESS && now_ms() - t0 < HANG_LIMIT_MS,
               "zk_ctx_destroy of context 1 returns (%s, %lld ms)", zk_error_name(st),
               (long long)(now_ms() - t0));

    /* a new context of this process works on A's and B's queues */
    {
        zk_stream s3[20];
        zk_deviceptr d3;
        uint32_t *pin3 = NULL;
        int ok3 = 1, k, got = 0;
        unsigned int q;
        MUST(zk_ctx_create(&c3, 0, dev));
        MUST(zk_mem_alloc(&d3, NBYTES));
        MUST(zk_mem_alloc_host((void **)&pin3, NBYTES));
        for (k = 0; k < (int)num_queues && k < 20; k++) {
            MUST(zk_stream_create(&s3[k], 0));
            MUST(zk_stream_get_queue(s3[k], &q));
            if (q == qA || q == qB) {
                st = round_trip(s3[k], d3, src, pin3, 40 + (uint32_t)k, &good);
                ok3 &= !st && good;
                got++;
            }
        }
        tap_result(ok3 && got >= 2, "a new context works on queues %u and %u", qA, qB);
        EXPECT_OK(zk_ctx_destroy(c3));
    }

    /* context 2: never blamed, kept working */
    pthread_mutex_lock(&inn.lock);
    inn.stop = 1;
    pthread_mutex_unlock(&inn.lock);
    pthread_join(inn.th, NULL);
    printf("#   context 2: %d rounds, %d ok, %d aborted (in flight at a reset), %d bad\n",
           inn.rounds, inn.ok, inn.aborted, inn.bad);
    if (inn.why[0]) {
        printf("#   context 2: %s\n", inn.why);
    }
    tap_result(inn.bad == 0, "context 2: every round trip OK with right data or ABORTED");
    tap_result(inn.final_ok, "context 2: usable afterwards on its stream and default stream");
    free(src);
    return tap_done();
}
