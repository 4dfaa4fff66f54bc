#include "tests/fidelity/linux_virtio_ring.h"

#include <linux/virtio_ring.h>
#include <stddef.h>

const struct LinuxVirtioRing kLinuxVirtioRing = {
    .ring_f_indirect_desc = VIRTIO_RING_F_INDIRECT_DESC,
    .ring_f_event_idx = VIRTIO_RING_F_EVENT_IDX,
    .desc_size = sizeof(struct vring_desc),
    .desc_addr = offsetof(struct vring_desc, addr),
    .desc_len = offsetof(struct vring_desc, len),
    .desc_flags = offsetof(struct vring_desc, flags),
    .desc_next = offsetof(struct vring_desc, next),
    .desc_f_next = VRING_DESC_F_NEXT,
    .desc_f_write = VRING_DESC_F_WRITE,
    .desc_f_indirect = VRING_DESC_F_INDIRECT,
    .avail_f_no_interrupt = VRING_AVAIL_F_NO_INTERRUPT,
    .used_f_no_notify = VRING_USED_F_NO_NOTIFY,
    .used_elem_size = sizeof(struct vring_used_elem),
    .avail_flags = offsetof(struct vring_avail, flags),
    .avail_idx = offsetof(struct vring_avail, idx),
    .avail_ring = offsetof(struct vring_avail, ring),
    .avail_entry_size = sizeof(((struct vring_avail*)0)->ring[0]),
    .used_flags = offsetof(struct vring_used, flags),
    .used_idx = offsetof(struct vring_used, idx),
    .used_ring = offsetof(struct vring_used, ring),
    .used_elem_id = offsetof(struct vring_used_elem, id),
    .used_elem_len = offsetof(struct vring_used_elem, len),
    .packed_desc_size = sizeof(struct vring_packed_desc),
    .packed_desc_addr = offsetof(struct vring_packed_desc, addr),
    .packed_desc_len = offsetof(struct vring_packed_desc, len),
    .packed_desc_id = offsetof(struct vring_packed_desc, id),
    .packed_desc_flags = offsetof(struct vring_packed_desc, flags),
    .packed_desc_f_avail = 1u << VRING_PACKED_DESC_F_AVAIL,
    .packed_desc_f_used = 1u << VRING_PACKED_DESC_F_USED,
    .packed_event_size = sizeof(struct vring_packed_desc_event),
    .packed_event_off_wrap = offsetof(struct vring_packed_desc_event, off_wrap),
    .packed_event_flags = offsetof(struct vring_packed_desc_event, flags),
    .packed_event_flag_enable = VRING_PACKED_EVENT_FLAG_ENABLE,
    .packed_event_flag_disable = VRING_PACKED_EVENT_FLAG_DISABLE,
    .packed_event_flag_desc = VRING_PACKED_EVENT_FLAG_DESC,
};

uint32_t linux_vring_size(uint32_t num, uint32_t align) { return vring_size(num, align); }

int linux_vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return vring_need_event(event_idx, new_idx, old_idx);
}

// vring_init() lays a ring out at any address; a buffer of vring_size()
// bytes lets the macros point into it without touching anything else.
static uint32_t event_offset(uint32_t num, int used) {
  static _Alignas(4096) unsigned char memory[1u << 20];
  struct vring vr;
  if (vring_size(num, 4096) > sizeof memory) return 0;
  vring_init(&vr, num, memory, 4096);
  return used ? (uint32_t)((unsigned char*)&vring_avail_event(&vr) - (unsigned char*)vr.used)
              : (uint32_t)((unsigned char*)&vring_used_event(&vr) - (unsigned char*)vr.avail);
}

uint32_t linux_used_event_offset(uint32_t num) { return event_offset(num, 0); }
uint32_t linux_avail_event_offset(uint32_t num) { return event_offset(num, 1); }
