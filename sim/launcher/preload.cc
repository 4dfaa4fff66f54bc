// libsafenic_preload.so: simulated NICs for a program that drives PCI devices
// itself, through VFIO or through sysfs and uio. Loaded with LD_PRELOAD
// (sim/launcher/run_with_simulated_nics sets it up), it answers the program's
// system calls on the VFIO device files from an EmulatedVfio, and those on
// the NICs' sysfs files, /dev/uioN and /proc/self/pagemap from an EmulatedUio
// (sim/vfio), whose devices are safenic's models; it passes every other call
// through to the C library.
//
// Configured from the environment (the launcher writes it):
//   SAFENIC_SIM_NICS     ADDRESS=KIND@GROUP,...   e.g. 0000:00:04.0=82599@7: bound to
//                        vfio-pci in IOMMU group 7; 0000:00:04.0=82599@uio0: bound to
//                        uio_pci_generic as /dev/uio0
//   SYSFS_PCI_DEVICES    the launcher's sysfs tree (uio: the NICs' files are there)
//   SAFENIC_SIM_CABLES   I-J,...                  NICs (by position) cabled together
//   SAFENIC_SIM_SOURCES  I,...                    NICs whose port a traffic source drives:
//                        60-byte UDP frames to the NIC's address, 64 a millisecond
//   SAFENIC_SIM_VFIO_DIR the VFIO directory answered for (default /dev/vfio)
//   SAFENIC_SIM_SUMMARY  a file the library writes at exit: what the models saw
// A NIC without a cable gets a loopback plug.
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "sim/catalog.h"
#include "sim/harness/testbed.h"
#include "sim/vfio/emulated_uio.h"
#include "sim/vfio/emulated_vfio.h"
#include "sim/vfio/real_time.h"
#include "sim/wires/pcap.h"
#include "sim/wires/tap.h"

namespace {

using safenic::sim::EmulatedUio;
using safenic::sim::EmulatedVfio;

struct Simulation {
  safenic::sim::SimContext ctx = safenic::sim::SimContext::serialized();
  std::vector<safenic::sim::SimulatedNic> nics;
  std::unique_ptr<EmulatedVfio> vfio;
  std::unique_ptr<EmulatedUio> uio;  // null: no NIC bound to uio_pci_generic
  std::vector<std::unique_ptr<safenic::sim::TrafficSource>> sources;
  std::vector<size_t> source_nics;
  struct Cable {
    size_t a, b;
    std::unique_ptr<safenic::sim::CountingCable> wire;
  };
  std::vector<Cable> cables;
  struct Replay {
    size_t nic;
    std::string path;
    std::unique_ptr<safenic::sim::PcapReplay> port;
  };
  std::vector<Replay> replays;
  struct Capture {
    size_t nic;
    std::string path;
    std::unique_ptr<safenic::sim::PcapTap> tap;
  };
  std::vector<Capture> captures;
  struct Tap {
    size_t nic;
    std::unique_ptr<safenic::sim::TapPort> port;
  };
  std::vector<Tap> taps;
  std::unique_ptr<safenic::sim::RealTimeProgress> progress;
  std::string vfio_dir = "/dev/vfio";
  std::string summary;
};

std::recursive_mutex g_mu;           // one call into the emulator at a time
thread_local bool t_inside = false;  // calls made by the emulator itself go to libc
Simulation* g_sim = nullptr;

[[noreturn]] void die(const std::string& message) {
  const std::string line = "safenic simulated NICs: " + message + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
  _exit(2);
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

Simulation* build() {
  auto* s = new Simulation;
  // Violations print as they happen (the summary at exit repeats them).
  s->ctx.log->set_echo([](const std::string& what) {
    const std::string line = "safenic simulated NIC violation: " + what + "\n";
    (void)!write(STDERR_FILENO, line.data(), line.size());
  });
  if (*env("SAFENIC_SIM_VFIO_DIR") != 0) s->vfio_dir = env("SAFENIC_SIM_VFIO_DIR");
  s->summary = env("SAFENIC_SIM_SUMMARY");
  // "loaded": the launcher tells a program that never loaded the library
  // from one that ended before the summary at exit (_exit).
  if (!s->summary.empty()) {
    if (FILE* f = std::fopen(s->summary.c_str(), "w"); f != nullptr) {
      std::fputs("loaded\n", f);
      std::fclose(f);
    }
  }
  std::vector<safenic::sim::EmulatedPciDevice> devices;
  std::vector<safenic::sim::EmulatedUioDevice> uio_devices;
  uint32_t n = 0;
  for (absl::string_view item : absl::StrSplit(env("SAFENIC_SIM_NICS"), ',', absl::SkipEmpty())) {
    const std::vector<std::string> parts = absl::StrSplit(item, absl::ByAnyChar("=@"));
    int group = 0, uio = -1;
    if (parts.size() != 3 ||
        !(absl::SimpleAtoi(parts[2], &group) ||
          (absl::StartsWith(parts[2], "uio") && absl::SimpleAtoi(parts[2].substr(3), &uio)))) {
      die(absl::StrFormat(
          "SAFENIC_SIM_NICS entry '%s' is not ADDRESS=KIND@GROUP or ADDRESS=KIND@uioN", item));
    }
    auto nic = safenic::sim::make_simulated_nic(parts[1], s->ctx, ++n);
    if (!nic.ok()) die(std::string(nic.status().message()));
    s->nics.push_back(*nic);
    if (uio < 0) {
      devices.push_back({parts[0], group, nic->model});
      continue;
    }
    // Its sysfs directory by the name the program builds, and where that leads.
    if (*env("SYSFS_PCI_DEVICES") == 0)
      die("a NIC bound to uio_pci_generic needs SYSFS_PCI_DEVICES");
    const std::string dir = absl::StrCat(env("SYSFS_PCI_DEVICES"), "/", parts[0]);
    std::vector<std::string> dirs = {dir};
    if (char* real = realpath(dir.c_str(), nullptr); real != nullptr) {
      if (dir != real) dirs.push_back(real);
      std::free(real);
    }
    uio_devices.push_back({{parts[0], 0, nic->model}, uio, std::move(dirs)});
  }
  // A NIC's port, or the far side of the capture on it (--capture): what
  // its cable, source, replay or loopback plug connects to.
  // A per-NIC setting (SAFENIC_SIM_<WHAT>_<i>), or null.
  auto setting = [](const char* what, size_t i) {
    return std::getenv(absl::StrCat("SAFENIC_SIM_", what, "_", i).c_str());
  };
  for (size_t i = 0; i < s->nics.size(); ++i) {
    const char* path = setting("CAPTURE", i);
    if (path == nullptr) continue;
    auto tap = safenic::sim::PcapTap::create(path);
    if (!tap.ok()) die(absl::StrCat("--capture ", i, "=", path, ": ", tap.status().message()));
    safenic::sim::connect(*s->nics[i].port, (*tap)->a());
    s->captures.push_back({i, path, *std::move(tap)});
  }
  auto end_of = [s](size_t i) -> safenic::sim::Port& {
    for (Simulation::Capture& c : s->captures) {
      if (c.nic == i) return c.tap->b();
    }
    return *s->nics[i].port;
  };
  std::vector<bool> cabled(s->nics.size(), false);
  // NIC i's port (or its capture's far end) for one wire: --tap and --pcap-in
  // need it free.
  auto free_end = [&](size_t i, const char* option) -> safenic::sim::Port& {
    if (cabled[i])
      die(absl::StrCat(option, " ", i, ": NIC ", i, " already has a cable or a source"));
    cabled[i] = true;
    return end_of(i);
  };
  for (absl::string_view item : absl::StrSplit(env("SAFENIC_SIM_CABLES"), ',', absl::SkipEmpty())) {
    const std::vector<std::string> ends = absl::StrSplit(item, '-');
    size_t a = 0, b = 0;
    if (ends.size() != 2 || !absl::SimpleAtoi(ends[0], &a) || !absl::SimpleAtoi(ends[1], &b) ||
        a >= s->nics.size() || b >= s->nics.size()) {
      die(absl::StrFormat("SAFENIC_SIM_CABLES entry '%s' is not I-J with two of the %d NICs", item,
                          s->nics.size()));
    }
    auto wire = std::make_unique<safenic::sim::CountingCable>();
    safenic::sim::connect(end_of(a), wire->end(0));
    safenic::sim::connect(end_of(b), wire->end(1));
    s->cables.push_back({a, b, std::move(wire)});
    cabled[a] = cabled[b] = true;
  }
  for (absl::string_view item :
       absl::StrSplit(env("SAFENIC_SIM_SOURCES"), ',', absl::SkipEmpty())) {
    size_t i = 0;
    if (!absl::SimpleAtoi(item, &i) || i >= s->nics.size() || cabled[i]) {
      die(absl::StrFormat("SAFENIC_SIM_SOURCES entry '%s' is not an uncabled one of the %d NICs",
                          item, s->nics.size()));
    }
    safenic::sim::UdpFlow flow;
    flow.dst_mac = s->nics[i].mac;
    s->sources.push_back(std::make_unique<safenic::sim::TrafficSource>(60, flow));
    s->source_nics.push_back(i);
    safenic::sim::connect(end_of(i), *s->sources.back());
    cabled[i] = true;
  }
  for (size_t i = 0; i < s->nics.size(); ++i) {
    const char* name = setting("TAP", i);
    if (name == nullptr) continue;
    safenic::sim::Port& end = free_end(i, "--tap");
    auto tap = safenic::sim::TapPort::open(name);
    if (!tap.ok()) die(absl::StrCat("--tap ", i, "=", name, ": ", tap.status().message()));
    safenic::sim::connect(end, **tap);
    s->taps.push_back({i, *std::move(tap)});
  }
  for (size_t i = 0; i < s->nics.size(); ++i) {
    const char* path = setting("PCAP_IN", i);
    if (path == nullptr) continue;
    safenic::sim::Port& end = free_end(i, "--pcap-in");
    auto replay = safenic::sim::PcapReplay::open(path);
    if (!replay.ok())
      die(absl::StrCat("--pcap-in ", i, "=", path, ": ", replay.status().message()));
    safenic::sim::connect(end, **replay);
    s->replays.push_back({i, path, *std::move(replay)});
  }
  std::vector<std::shared_ptr<safenic::sim::DeviceModel>> models;
  for (size_t i = 0; i < s->nics.size(); ++i) {
    if (!cabled[i]) safenic::sim::connect(end_of(i), end_of(i));
    models.push_back(s->nics[i].model);
  }
  s->vfio = std::make_unique<EmulatedVfio>(s->ctx, std::move(devices), s->vfio_dir);
  if (!uio_devices.empty()) s->uio = std::make_unique<EmulatedUio>(s->ctx, std::move(uio_devices));
  s->progress = std::make_unique<safenic::sim::RealTimeProgress>(
      s->ctx, std::move(models), absl::Milliseconds(1), [s] {
        // This thread is the emulator's own: its system calls (the TAP's
        // read) go straight to libc. Through the shim they would take g_mu
        // while this thread holds the simulation's lock, which a program
        // thread in a trapped access takes in the other order: a deadlock
        // (launcher_tap_test hung in 2 of about 10 runs on a busy machine).
        t_inside = true;
        for (const auto& source : s->sources) source->inject(64);
        for (const Simulation::Tap& t : s->taps) t.port->poll(64);  // what the kernel sent
        for (const Simulation::Replay& r : s->replays) {
          if (s->nics[r.nic].model->receiving())
            r.port->replay(64);  // from when the driver receives
        }
      });
  return s;
}

// The simulation, built on first use (a library constructor may run after
// other libraries' constructors have already made system calls).
Simulation& sim() {
  static std::once_flag once;
  std::call_once(once, [] {
    t_inside = true;
    g_sim = build();
    t_inside = false;
  });
  return *g_sim;
}

// Runs `f` on the emulator when this thread is not inside it already.
class Inside {
 public:
  Inside() : lock_(g_mu) { t_inside = true; }
  ~Inside() { t_inside = false; }

 private:
  std::lock_guard<std::recursive_mutex> lock_;
};

// The simulation once the kinds SAFENIC_SIM_NICS names are registered, else
// nullptr (nothing is emulated yet). Kinds register from this library's
// static initializers (sim/catalog.h), and another library's constructor may
// make system calls before those have run.
Simulation* ready_sim() {
  if (g_sim == nullptr) {
    for (absl::string_view item : absl::StrSplit(env("SAFENIC_SIM_NICS"), ',', absl::SkipEmpty())) {
      const std::vector<std::string> parts = absl::StrSplit(item, absl::ByAnyChar("=@"));
      if (parts.size() == 3 && safenic::sim::find_kind(parts[1]) == nullptr) return nullptr;
    }
  }
  return &sim();
}

bool vfio_path(const char* path) {
  if (t_inside || path == nullptr) return false;
  Simulation* s = ready_sim();
  if (s == nullptr) return false;
  const std::string& dir = s->vfio_dir;
  return std::strncmp(path, dir.c_str(), dir.size()) == 0 && path[dir.size()] == '/';
}

// Which emulator made `fd`, if one did.
enum class Owner { kNone, kVfio, kUio };
Owner owner(int fd) {
  if (t_inside || fd < 0) return Owner::kNone;
  if (ready_sim() == nullptr) return Owner::kNone;  // no descriptor is the emulators' yet
  Simulation& s = sim();
  Inside in;
  if (s.vfio->owns(fd)) return Owner::kVfio;
  if (s.uio != nullptr && s.uio->owns(fd)) return Owner::kUio;
  return Owner::kNone;
}

template <typename F>
F next(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) die(absl::StrFormat("the C library has no %s", name));
  return reinterpret_cast<F>(f);
}

mode_t mode_of(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
             ? static_cast<mode_t>(va_arg(ap, int))
             : 0;
}

// An open the emulators answer (the descriptor, or -1 with errno), else
// EmulatedVfio::kNotMine.
constexpr int kNotMine = EmulatedVfio::kNotMine;
static_assert(EmulatedUio::kNotMine == kNotMine);
int emulated_open(const char* path, int flags) {
  if (t_inside || path == nullptr || ready_sim() == nullptr) return kNotMine;
  Simulation& s = sim();
  const bool vfio = vfio_path(path);
  if (!vfio && s.uio == nullptr) return kNotMine;
  Inside in;
  return vfio ? s.vfio->open(path, flags) : s.uio->open(path, flags);
}

void write_summary() {
  if (g_sim == nullptr || g_sim->summary.empty()) return;
  t_inside = true;
  g_sim->progress.reset();  // time stops; the models are left as they are
  safenic::sim::SimLock lock(g_sim->ctx);
  FILE* f = std::fopen(g_sim->summary.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "violations %zu\n", g_sim->ctx.log->size());
  std::fprintf(f, "trapped_accesses %llu\n",
               static_cast<unsigned long long>(g_sim->vfio->trapped_accesses() +
                                               (g_sim->uio ? g_sim->uio->trapped_accesses() : 0)));
  if (g_sim->uio != nullptr) {
    std::fprintf(
        f, "pagemap: %llu entries read; up to %llu bytes of the program's memory open to DMA\n",
        static_cast<unsigned long long>(g_sim->uio->pagemap_entries_read()),
        static_cast<unsigned long long>(g_sim->uio->most_admitted_bytes()));
  }
  for (size_t i = 0; i < g_sim->sources.size(); ++i) {
    std::fprintf(f, "source %zu (NIC %zu): sent %llu, received %llu\n", i, g_sim->source_nics[i],
                 static_cast<unsigned long long>(g_sim->sources[i]->sent()),
                 static_cast<unsigned long long>(g_sim->sources[i]->received()));
  }
  for (const Simulation::Cable& c : g_sim->cables) {
    for (int from = 0; from < 2; ++from) {
      std::fprintf(f, "cable %zu to %zu: %llu frames, %llu bytes\n", from == 0 ? c.a : c.b,
                   from == 0 ? c.b : c.a, static_cast<unsigned long long>(c.wire->frames(from)),
                   static_cast<unsigned long long>(c.wire->bytes(from)));
    }
  }
  for (const Simulation::Replay& r : g_sim->replays) {
    std::fprintf(f, "pcap-in NIC %zu: sent %llu of the %zu frames of %s, received %llu\n", r.nic,
                 static_cast<unsigned long long>(r.port->sent()), r.port->file().size(),
                 r.path.c_str(), static_cast<unsigned long long>(r.port->received()));
  }
  for (const Simulation::Tap& t : g_sim->taps) {
    std::fprintf(f, "tap NIC %zu (%s): %llu frames to the kernel, %llu from it\n", t.nic,
                 t.port->name().c_str(), static_cast<unsigned long long>(t.port->to_kernel()),
                 static_cast<unsigned long long>(t.port->from_kernel()));
  }
  for (const Simulation::Capture& c : g_sim->captures) {
    const absl::Status closed = c.tap->close();
    std::fprintf(f, "capture NIC %zu: %llu frames into %s%s\n", c.nic,
                 static_cast<unsigned long long>(c.tap->frames()), c.path.c_str(),
                 closed.ok() ? "" : absl::StrCat(" (", closed.message(), ")").c_str());
  }
  for (size_t i = 0; i < g_sim->nics.size(); ++i) {
    std::string drops;
    for (const auto& [reason, n] : g_sim->nics[i].model->dropped_frames()) {
      absl::StrAppend(&drops, drops.empty() ? "" : ", ", reason, " ", n);
    }
    std::fprintf(f, "NIC %zu dropped: %s\n", i, drops.empty() ? "none" : drops.c_str());
  }
  std::fprintf(f, "%s", g_sim->ctx.log->to_string().c_str());
  std::fclose(f);
}

__attribute__((destructor)) void at_exit() { write_summary(); }

// The program is about to unmap [addr, addr + len), or map over it: the
// emulators undo their BAR mappings there and forget its pages.
void unmapping(void* addr, size_t len) {
  Inside in;
  g_sim->vfio->munmap(addr, len);
  if (g_sim->uio != nullptr) g_sim->uio->munmap(addr, len);
}

// DPDK asks whether the VFIO modules are loaded: stat("/sys/module/vfio")
// and "/sys/module/vfio_pci". Under the emulation they are.
bool vfio_module(const char* path) {
  return path != nullptr && !t_inside &&
         (std::strcmp(path, "/sys/module/vfio") == 0 ||
          std::strcmp(path, "/sys/module/vfio_pci") == 0 ||
          std::strcmp(path, "/sys/module/vfio_iommu_type1") == 0);
}

template <typename Stat>
int fake_stat(const char* path, Stat* st) {
  std::memset(st, 0, sizeof *st);
  if (vfio_module(path)) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  Simulation& s = sim();
  Inside in;
  if (!s.vfio->exists(path)) return errno = ENOENT, -1;
  st->st_mode = S_IFCHR | 0600;  // /dev/vfio/vfio and the group files are character devices
  st->st_nlink = 1;
  return 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(const char*, int, ...)>("open");
  return real(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(const char*, int, ...)>("open64");
  return real(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(int, const char*, int, ...)>("openat");
  return real(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(int, const char*, int, ...)>("openat64");
  return real(dirfd, path, flags, mode);
}

// _FORTIFY_SOURCE's checked open.
int __open_2(const char* path, int flags) {
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(const char*, int)>("__open_2");
  return real(path, flags);
}

int __open64_2(const char* path, int flags) {
  if (const int fd = emulated_open(path, flags); fd != kNotMine) return fd;
  static auto real = next<int (*)(const char*, int)>("__open64_2");
  return real(path, flags);
}

int access(const char* path, int mode) {
  if (vfio_path(path)) {  // the container and the groups exist; nothing else there does
    Simulation& s = sim();
    Inside in;
    return s.vfio->exists(path) ? 0 : (errno = ENOENT, -1);
  }
  static auto real = next<int (*)(const char*, int)>("access");
  return real(path, mode);
}

int stat(const char* path, struct stat* st) {
  if (vfio_module(path) || vfio_path(path)) return fake_stat(path, st);
  static auto real = next<int (*)(const char*, struct stat*)>("stat");
  return real(path, st);
}

int stat64(const char* path, struct stat64* st) {
  if (vfio_module(path) || vfio_path(path)) return fake_stat(path, st);
  static auto real = next<int (*)(const char*, struct stat64*)>("stat64");
  return real(path, st);
}

int lstat(const char* path, struct stat* st) {
  if (vfio_module(path) || vfio_path(path)) return fake_stat(path, st);
  static auto real = next<int (*)(const char*, struct stat*)>("lstat");
  return real(path, st);
}

int lstat64(const char* path, struct stat64* st) {
  if (vfio_module(path) || vfio_path(path)) return fake_stat(path, st);
  static auto real = next<int (*)(const char*, struct stat64*)>("lstat64");
  return real(path, st);
}

int close(int fd) {
  if (const Owner o = owner(fd); o != Owner::kNone) {
    Simulation& s = sim();
    Inside in;
    return o == Owner::kVfio ? s.vfio->close(fd) : s.uio->close(fd);
  }
  static auto real = next<int (*)(int)>("close");
  return real(fd);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (owner(fd) == Owner::kVfio) {
    Simulation& s = sim();
    Inside in;
    return s.vfio->ioctl(fd, request, reinterpret_cast<uintptr_t>(arg));
  }
  static auto real = next<int (*)(int, unsigned long, ...)>("ioctl");
  return real(fd, request, arg);
}

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  if (const Owner o = owner(fd); o != Owner::kNone) {
    Simulation& s = sim();
    Inside in;
    return o == Owner::kVfio ? s.vfio->mmap(addr, len, prot, flags, fd, offset)
                             : s.uio->mmap(addr, len, prot, flags, fd, offset);
  }
  static auto real = next<void* (*)(void*, size_t, int, int, int, off_t)>("mmap");
  // A mapping over a range replaces what was there: BAR mappings in it are
  // undone first (as munmap does), and its pages leave the simulated IOMMU.
  if ((flags & MAP_FIXED) && !t_inside && g_sim != nullptr) unmapping(addr, len);
  void* const p = real(addr, len, prot, flags, fd, offset);
  // sysfs/uio: what the program maps (hugepages) decides what pagemap opens
  // to DMA.
  if (p != MAP_FAILED && !t_inside && g_sim != nullptr && g_sim->uio != nullptr) {
    Inside in;
    g_sim->uio->mapped(p, len, flags, fd);
  }
  return p;
}

void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return mmap(addr, len, prot, flags, fd, offset);
}

int munmap(void* addr, size_t len) {
  if (!t_inside && g_sim != nullptr) unmapping(addr, len);
  static auto real = next<int (*)(void*, size_t)>("munmap");
  return real(addr, len);
}

ssize_t pread(int fd, void* buf, size_t len, off_t offset) {
  if (const Owner o = owner(fd); o != Owner::kNone) {
    Simulation& s = sim();
    Inside in;
    return o == Owner::kVfio ? s.vfio->pread(fd, buf, len, offset)
                             : s.uio->pread(fd, buf, len, offset);
  }
  static auto real = next<ssize_t (*)(int, void*, size_t, off_t)>("pread");
  return real(fd, buf, len, offset);
}

ssize_t pread64(int fd, void* buf, size_t len, off_t offset) { return pread(fd, buf, len, offset); }

// _FORTIFY_SOURCE's checked forms (the size check is the compiler's business).
ssize_t __pread_chk(int fd, void* buf, size_t len, off_t offset, size_t) {
  return pread(fd, buf, len, offset);
}
ssize_t __pread64_chk(int fd, void* buf, size_t len, off_t offset, size_t) {
  return pread(fd, buf, len, offset);
}

ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) {
  if (const Owner o = owner(fd); o != Owner::kNone) {
    Simulation& s = sim();
    Inside in;
    return o == Owner::kVfio ? s.vfio->pwrite(fd, buf, len, offset)
                             : s.uio->pwrite(fd, buf, len, offset);
  }
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  return real(fd, buf, len, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t len, off_t offset) {
  return pwrite(fd, buf, len, offset);
}

// read(): /proc/self/pagemap and /dev/uioN (DPDK reads pagemap after lseek).
ssize_t read(int fd, void* buf, size_t len) {
  if (owner(fd) == Owner::kUio) {
    Simulation& s = sim();
    Inside in;
    return s.uio->read(fd, buf, len);
  }
  static auto real = next<ssize_t (*)(int, void*, size_t)>("read");
  return real(fd, buf, len);
}

ssize_t __read_chk(int fd, void* buf, size_t len, size_t) { return read(fd, buf, len); }

// No port I/O: a program that would reach an I/O BAR with in/out
// instructions (DPDK's uio path does, after iopl) would reach this machine's
// real ports at the launcher's made-up addresses. Refused as for a user
// without CAP_SYS_RAWIO; I/O BARs stay reachable through their resource files
// (pread/pwrite) and VFIO.
int iopl(int) { return errno = EPERM, -1; }
int ioperm(unsigned long, unsigned long, int) { return errno = EPERM, -1; }

}  // extern "C"
