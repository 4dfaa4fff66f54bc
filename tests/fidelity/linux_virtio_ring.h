// What Linux's <linux/virtio_ring.h> defines, taken by a C translation unit
// (linux_virtio_ring.c): the header's vring_init() is C, not C++, so the
// C++ test cannot include it. Sizes and offsets in bytes.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct LinuxVirtioRing {
  uint32_t ring_f_indirect_desc, ring_f_event_idx;
  uint32_t desc_size, desc_addr, desc_len, desc_flags, desc_next;
  uint32_t desc_f_next, desc_f_write, desc_f_indirect;
  uint32_t avail_f_no_interrupt, used_f_no_notify, used_elem_size;
  uint32_t avail_flags, avail_idx, avail_ring, avail_entry_size;
  uint32_t used_flags, used_idx, used_ring, used_elem_id, used_elem_len;
  uint32_t packed_desc_size, packed_desc_addr, packed_desc_len, packed_desc_id, packed_desc_flags;
  uint32_t packed_desc_f_avail, packed_desc_f_used;
  uint32_t packed_event_size, packed_event_off_wrap, packed_event_flags;
  uint32_t packed_event_flag_enable, packed_event_flag_disable, packed_event_flag_desc;
};
extern const struct LinuxVirtioRing kLinuxVirtioRing;

// Linux's vring_size() and vring_need_event().
uint32_t linux_vring_size(uint32_t num, uint32_t align);
// Where vring_used_event() and vring_avail_event() put the event index words
// of a ring of `num` entries: bytes from the start of the avail (used) ring.
uint32_t linux_used_event_offset(uint32_t num);
uint32_t linux_avail_event_offset(uint32_t num);
int linux_vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx);

#ifdef __cplusplus
}
#endif
