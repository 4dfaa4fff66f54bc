#include "sim/wires/wire.h"

namespace safenic::sim {

Port::~Port() { disconnect(*this); }

void connect(Port& a, Port& b) {
  disconnect(a);
  disconnect(b);
  a.peer_ = &b;
  b.peer_ = &a;
  a.on_link_change(true);
  if (&b != &a) b.on_link_change(true);
}

void disconnect(Port& p) {
  Port* peer = p.peer_;
  if (peer == nullptr) return;
  p.peer_ = nullptr;
  peer->peer_ = nullptr;
  p.on_link_change(false);
  if (peer != &p) peer->on_link_change(false);
}

}  // namespace safenic::sim
