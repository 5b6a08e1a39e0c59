/* SPDX-License-Identifier: MIT */
/* zk-info - print every zhikai device as libzhikai sees it. */
#include <stdio.h>
#include <stdlib.h>

#include <zhikai/zhikai.h>

#define CHECK(x) do { zk_status s_ = (x); if (s_ != ZK_SUCCESS) { \
    fprintf(stderr, "zk-info: %s: %s (%s)\n", #x, zk_error_string(s_), \
            zk_last_error_detail()); return 1; } } while (0)

int main(void)
{
    int n, i, ver;
    CHECK(zk_init(0));
    CHECK(zk_runtime_get_version(&ver));
    CHECK(zk_device_count(&n));
    printf("libzhikai %d.%d, %d device(s)\n", ver / 1000, (ver % 1000) / 10, n);
    for (i = 0; i < n; i++) {
        zk_device dev;
        zk_device_properties p;
        zk_context ctx;
        size_t fr, tot;
        CHECK(zk_device_get(&dev, i));
        CHECK(zk_device_get_properties(dev, &p));
        printf("Device %d: %s\n", i, p.name);
        printf("  PCI bus id          %s (%04x:%04x rev %u)\n", p.pci_bus_id, p.pci_vendor_id,
               p.pci_device_id, p.pci_revision);
        printf("  node                %s (driver %s %d.%d.%d)\n", p.node, p.driver_name,
               p.driver_version[0], p.driver_version[1], p.driver_version[2]);
        printf("  compute capability  %d.%d\n", p.compute_capability_major,
               p.compute_capability_minor);
        printf("  firmware            %u.%u.%u\n", p.fw_version >> 16, (p.fw_version >> 8) & 0xff,
               p.fw_version & 0xff);
        printf("  device API          %u.%u\n", p.api_version >> 16, p.api_version & 0xffff);
        printf("  HBM                 %llu MiB total, %llu MiB free, %u stack(s)\n",
               (unsigned long long)(p.hbm_total >> 20), (unsigned long long)(p.hbm_free >> 20),
               p.hbm_stacks);
        printf("  hardware queues     %u\n", p.num_queues);
        printf("  max clock           %u MHz\n", p.clock_max_mhz);
        printf("  capabilities        0x%x%s%s%s%s%s%s\n", p.caps,
               p.caps & ZK_DEVICE_CAP_MMU ? " mmu" : "",
               p.caps & ZK_DEVICE_CAP_FP16 ? " fp16" : "",
               p.caps & ZK_DEVICE_CAP_BF16 ? " bf16" : "",
               p.caps & ZK_DEVICE_CAP_INT8 ? " int8" : "",
               p.caps & ZK_DEVICE_CAP_POWER_CAP ? " power-cap" : "",
               p.caps & ZK_DEVICE_CAP_CARD_TIME ? " card-time" : "");
        printf("  device VA range     0x%llx + 0x%llx\n", (unsigned long long)p.va_start,
               (unsigned long long)p.va_size);
        CHECK(zk_ctx_create(&ctx, 0, dev));
        CHECK(zk_mem_get_info(&fr, &tot));
        printf("  context             ok (%zu MiB available to it)\n", fr >> 20);
        CHECK(zk_ctx_destroy(ctx));
    }
    return 0;
}
