/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai device: power, thermal and clock model.
 *
 * Every power-window-ms of virtual time (QEMU_CLOCK_VIRTUAL: the model
 * stops with the VM, so a paused guest gets no interrupts) the model samples
 * how long the queues were really busy executing commands (host time: the
 * engine's work is real host work) and computes:
 *
 *   util   = busy_ns / window_ns (all queues share one engine; clamped to 1)
 *   power  = idle + (tdp - idle) * util * (clock / clock_max)^2.5
 *            (d3 instead while the function is in D3hot: engine off)
 *   avg    = exponentially weighted average of power (tau 50 ms)
 *   energy += power * window                                 (uJ, monotonic)
 *   temp   -> ambient + R * power, first order with time constant tau
 *
 * Control: when avg > cap (POWER) or temp > limit (THERMAL) the clock steps
 * down by clock-step-mhz (not below clock-min-mhz); it steps back up only
 * when the predicted power at the next step is below 95% of the cap and the
 * die is 2 C below its limit.  A throttled engine runs slower: DMA and
 * LAUNCH commands are stretched by clock_max / clock (zhikai-queue.c).
 * Changes of the throttle reasons raise the event interrupt.
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include <math.h>

#include "zhikai.h"
#include "trace.h"

#define ZK_POWER_AVG_TAU_NS     (50 * 1000 * 1000.0)
#define ZK_THERMAL_HYST_MC      2000
#define ZK_POWER_HEADROOM       0.95

static double zhikai_model_power(ZhikaiState *s, double util, uint32_t clk)
{
    double f = (double)clk / s->clock_max_mhz;

    return s->idle_mw + (double)(s->tdp_mw - s->idle_mw) * util *
           pow(f, 2.5);
}

static uint64_t zhikai_total_busy_ns(ZhikaiState *s)
{
    uint64_t busy = 0;

    for (unsigned i = 0; i < s->num_queues; i++) {
        busy += zhikai_queue_busy_ns(&s->queues[i]);
    }
    return busy;
}

static void zhikai_power_tick(void *opaque)
{
    ZhikaiState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t dt = now - s->power_last_ns;
    uint64_t busy = zhikai_total_busy_ns(s);
    uint32_t clk = s->clock_mhz, reasons = 0, old_throttle = s->throttle;
    double util, p, a, target;

    if (dt > 0) {
        util = (double)(busy - s->power_last_busy) / dt;
        util = util < 0 ? 0 : util > 1 ? 1 : util;
        if (s->d3) {
            util = 0;
            p = s->d3_mw;
        } else {
            p = zhikai_model_power(s, util, clk);
        }

        s->util = (uint32_t)(util * 10000 + 0.5);
        s->power_mw = (uint32_t)p;
        s->energy_uj += p * dt / 1e6;       /* mW * ns = 1e-6 uJ */
        a = 1 - exp(-dt / ZK_POWER_AVG_TAU_NS);
        s->power_avg_acc += (p - s->power_avg_acc) * a;
        s->power_avg_mw = (uint32_t)s->power_avg_acc;
        target = s->ambient_mc + (double)s->thermal_r_mc_per_w * p / 1000;
        a = 1 - exp(-dt / (s->thermal_tau_ms * 1e6));
        s->temp_mc += (target - s->temp_mc) * a;

        if (s->power_avg_acc > s->power_cap_mw) {
            reasons |= ZK_THROTTLE_POWER;
        }
        if (s->temp_mc > s->temp_limit_mc) {
            reasons |= ZK_THROTTLE_THERMAL;
        }
        if (reasons) {
            clk = clk > s->clock_min_mhz + s->clock_step_mhz ?
                  clk - s->clock_step_mhz : s->clock_min_mhz;
        } else if (clk < s->clock_max_mhz) {
            uint32_t up = MIN(clk + s->clock_step_mhz, s->clock_max_mhz);
            bool power_ok = zhikai_model_power(s, util, up) <=
                            ZK_POWER_HEADROOM * s->power_cap_mw;
            bool temp_ok = s->temp_mc + ZK_THERMAL_HYST_MC <= s->temp_limit_mc;

            if (power_ok && temp_ok) {
                clk = up;
            }
            reasons |= power_ok ? 0 : ZK_THROTTLE_POWER;
            reasons |= temp_ok ? 0 : ZK_THROTTLE_THERMAL;
        }
        s->throttle = clk < s->clock_max_mhz ? reasons : 0;
        qatomic_set(&s->clock_mhz, clk);
        trace_zhikai_power(s->power_mw, s->power_avg_mw, s->util, clk,
                           (uint32_t)s->temp_mc);
        if (s->throttle != old_throttle) {
            trace_zhikai_throttle(old_throttle, s->throttle, clk);
            zhikai_raise_irq(s, ZK_IRQ_EVENT);
        }
    }
    s->power_last_ns = now;
    s->power_last_busy = busy;
    timer_mod(&s->power_timer, now + (int64_t)s->power_window_ms * SCALE_MS);
}

uint64_t zhikai_power_energy_uj(ZhikaiState *s)
{
    return (uint64_t)s->energy_uj;
}

uint64_t zhikai_power_busy_ns(ZhikaiState *s)
{
    return zhikai_total_busy_ns(s);
}

void zhikai_power_set_cap(ZhikaiState *s, uint32_t mw)
{
    /* Workers read it (zhikai-perf.c): an atomic store. */
    qatomic_set(&s->power_cap_mw,
                MAX(MIN(mw, s->power_cap_max_mw), s->power_cap_min_mw));
}

/* PCI D3hot entered or left (zhikai.c): the next windows draw d3-mw. */
void zhikai_power_set_d3(ZhikaiState *s, bool d3)
{
    s->d3 = d3;
}

/*
 * Device reset: the policy goes back to defaults; physics (energy,
 * temperature, busy time) carries on.
 */
void zhikai_power_reset(ZhikaiState *s)
{
    zhikai_power_set_cap(s, s->power_cap_default_mw);
    qatomic_set(&s->clock_mhz, s->clock_max_mhz);
    s->throttle = 0;
}

void zhikai_power_init(ZhikaiState *s)
{
    s->power_mw = s->idle_mw;
    s->power_avg_mw = s->idle_mw;
    s->power_avg_acc = s->idle_mw;
    s->temp_mc = s->ambient_mc + (double)s->thermal_r_mc_per_w *
                 s->idle_mw / 1000;
    s->energy_uj = 0;
    zhikai_power_reset(s);
    timer_init_ns(&s->power_timer, QEMU_CLOCK_VIRTUAL, zhikai_power_tick, s);
    s->power_last_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->power_last_busy = 0;
    timer_mod(&s->power_timer,
              s->power_last_ns + (int64_t)s->power_window_ms * SCALE_MS);
}

void zhikai_power_exit(ZhikaiState *s)
{
    timer_del(&s->power_timer);
}
