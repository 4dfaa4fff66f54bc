// Virtqueues, driver side: split (§2.7) and packed (§2.8) with one interface,
// so the net driver is written once as a template over the queue type.
//
//   q.add(packet, {{iova, len, device_writes}, ...});  // any buffer
//   q.add_all(packets, n, prepare);                     // fast path: one segment each
//   q.fill(pool, segment_of);                           // RX: a fresh buffer in every free slot
//   if (q.publish()) transport.notify(index);           // once per batch; rarely notifies
//   q.free_used();                                      // TX: sent buffers home, in bulk
//   q.take_used(out, max, on_used);                     // RX: frames out, in one pass
//   while (q.next_used(packet, &len)) ...               // any completion, one at a time
//
// A buffer is a chain of up to kMaxSegments descriptors owned by one Packet.
// Completions are checked: an id the driver never made available is counted
// in bad_completions() and ignored, never dereferenced.
//
// VIRTIO_F_IN_ORDER (§2.7.9 split, §2.8.8 packed): the device uses buffers in
// the order they were made available, so a buffer's id is its first
// descriptor's position (split: the driver must use descriptors in ring
// order, chained x -> x+1), and one used element naming buffer N tells that
// every earlier buffer is used too: TX reclaim reads one element per batch.
// A used id that is not the buffer due there is counted bad; that buffer is
// still taken back (the device wrote over its slot), so the order holds.
// While every buffer is one descriptor (Mode::kInOrderOne, in nic/virtio/
// buffers.h) the outstanding buffers are the slots from the oldest on: no
// chain lengths are kept, sent buffers go home in runs, and a split ring's
// avail entries are written once; the first chained buffer (a control
// command) makes the queue keep chain lengths from then on.
//
// The fast paths (add_all, free_used, take_used) loop over many buffers
// with the queue's state in locals: descriptor stores go through byte pointers,
// which may alias anything, so state kept in members would be reloaded after
// every store.
#pragma once

#include "nic/virtio/buffers.h"       // Segment, Mode, BufferTable
#include "nic/virtio/packed_queue.h"  // PackedQueue (§2.8)
#include "nic/virtio/queue_base.h"    // the fast paths both share
#include "nic/virtio/split_queue.h"   // SplitQueue (§2.7)
