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
