// run_with_simulated_nics: runs a program that drives PCI NICs itself (DPDK's
// PMDs, safenic's own PCI path), through VFIO or through sysfs and uio,
// against simulated NICs, unchanged.
//
//   run_with_simulated_nics --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599
//       --cable 0,1 -- PROGRAM [ARGS...]
//
// It writes a sysfs tree for the NICs (each bound to vfio-pci, in an IOMMU
// group of its own; or with --driver uio_pci_generic, bound to that as
// /dev/uioN) and points the program at it with SYSFS_PCI_DEVICES (the
// variable DPDK and safenic read), preloads libsafenic_preload.so (sim/
// launcher/preload.cc: VFIO, or the sysfs files, /dev/uioN and
// /proc/self/pagemap, answered by the models) and runs the program.
// Afterwards it prints what the models saw and exits with the program's
// status, or 3 if the program succeeded but a model reported a violation.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sim/catalog.h"

namespace {

namespace fs = std::filesystem;

volatile pid_t g_child = 0;  // the program, for the signal forwarder

constexpr char kUsage[] =
    "usage: run_with_simulated_nics --nic ADDRESS=KIND [--nic ...] [--cable I,J ...] -- PROGRAM "
    "[ARGS...]\n"
    "  --nic 0000:00:04.0=82599   a simulated NIC at that PCI address, bound to vfio-pci\n"
    "  --cable 0,1                a cable between the first and second --nic (else: loopback "
    "plugs)\n"
    "  --source 0                 a traffic source on the first --nic's port: 64 frames a "
    "millisecond\n"
    "  --pcap-in 0=FILE           the first --nic's port receives FILE's frames, 64 a millisecond, "
    "once\n"
    "  --capture 0=FILE           every frame the first --nic's port sends or receives, into FILE "
    "(pcap)\n"
    "  --tap 0=NAME               the first --nic's port cabled to a TAP interface NAME (needs "
    "CAP_NET_ADMIN)\n"
    "  --driver vfio-pci          the kernel driver the NICs appear bound to: vfio-pci (the "
    "default: the program\n"
    "                             maps DMA memory with VFIO) or uio_pci_generic (it maps the BARs "
    "from sysfs and\n"
    "                             reads physical addresses from /proc/self/pagemap, which the "
    "library answers)\n"
    "  KIND: %s\n";

int usage(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "run_with_simulated_nics: %s\n", error.c_str());
  std::fprintf(stderr, kUsage, safenic::sim::kind_names().c_str());
  return 2;
}

struct Nic {
  std::string address, kind;
  int group;  // its IOMMU group (vfio-pci) or uio number (uio_pci_generic)
};

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

constexpr char kVfioPci[] = "vfio-pci", kUioPciGeneric[] = "uio_pci_generic";

// The sysfs files PCI users read (Documentation/PCI/sysfs-pci.rst): ids and
// class, the resource table, the NUMA node, the driver link, the
// configuration space; bound to vfio-pci, the IOMMU group link; bound to
// uio_pci_generic, the uio device (uio/uioN, Documentation/driver-api/
// uio-howto.rst) and resourceN files of the BARs' sizes (their contents, like
// config's, are the library's to answer).
void write_sysfs(const fs::path& base, const std::vector<Nic>& nics, const std::string& driver) {
  const fs::path devices = base / "sys/bus/pci/devices";
  fs::create_directories(devices);
  fs::create_directories(base / "sys/bus/pci/drivers" / driver);
  safenic::sim::SimContext ctx;  // models made only to read their ids and BARs
  uint32_t n = 0;
  for (const Nic& nic : nics) {
    auto made = safenic::sim::make_simulated_nic(nic.kind, ctx, ++n);
    if (!made.ok()) throw std::runtime_error(std::string(made.status().message()));
    const safenic::sim::DeviceModel& m = *made->model;
    const fs::path dir = base / "sys/devices/pci0000:00" / nic.address;
    fs::create_directories(dir);
    fs::create_directory_symlink(fs::path("../../../devices/pci0000:00") / nic.address,
                                 devices / nic.address);
    const uint32_t class_code = m.config_read32(0x08) >> 8;
    write_file(dir / "vendor", absl::StrFormat("0x%04x\n", m.id().vendor));
    write_file(dir / "device", absl::StrFormat("0x%04x\n", m.id().device));
    const uint32_t subsystem = m.config_read32(0x2C);
    write_file(dir / "subsystem_vendor", absl::StrFormat("0x%04x\n", subsystem & 0xFFFF));
    write_file(dir / "subsystem_device", absl::StrFormat("0x%04x\n", subsystem >> 16));
    write_file(dir / "class", absl::StrFormat("0x%06x\n", class_code == 0 ? 0x020000 : class_code));
    write_file(dir / "numa_node", "-1\n");
    write_file(dir / "enable", "1\n");
    // resource: "start end flags" per BAR, the ROM and bridge windows. The
    // addresses are made up (the program reaches BARs through the device fd
    // or the resourceN files): memory from 0xf0000000, I/O ports from 0xc000.
    std::string resource;
    uint64_t next_memory = 0xf0000000 + 0x1000000 * n, next_port = 0xc000 + 0x100 * n;
    for (int i = 0; i < 13; ++i) {
      const uint64_t size = i < 6 ? m.bar_size(i) : 0;
      if (size == 0) {
        resource += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        continue;
      }
      const bool io = m.config_read32(0x10 + 4 * i) & 1;
      const uint64_t flags = io ? 0x40101 : 0x40200;  // IORESOURCE_IO or _MEM (+ _SIZEALIGN)
      uint64_t& next = io ? next_port : next_memory;
      resource += absl::StrFormat("0x%016x 0x%016x 0x%016x\n", next, next + size - 1, flags);
      next += io ? size : std::max<uint64_t>(size, 0x100000);
    }
    write_file(dir / "resource", resource);
    if (driver == kUioPciGeneric) {
      for (int bar = 0; bar < 6; ++bar) {
        if (m.bar_size(bar) == 0) continue;
        write_file(dir / absl::StrCat("resource", bar), "");
        fs::resize_file(dir / absl::StrCat("resource", bar), m.bar_size(bar));
      }
    }
    std::string config(256, '\0');
    for (uint32_t off = 0; off < 256; off += 4) {
      const uint32_t v = m.config_read32(off);
      std::memcpy(config.data() + off, &v, 4);
    }
    write_file(dir / "config", config);
    fs::create_directory_symlink(fs::path("../../../bus/pci/drivers") / driver, dir / "driver");
    if (driver == kUioPciGeneric) {
      // uio's class device: its number (DPDK opens /dev/uioN and
      // /sys/class/uio/uioN/device/config) and its char device (243 is
      // uio's usual dynamic major).
      const fs::path uio = dir / "uio" / absl::StrCat("uio", nic.group);
      fs::create_directories(uio);
      write_file(uio / "name", "uio_pci_generic\n");
      write_file(uio / "dev", absl::StrCat("243:", nic.group, "\n"));
      continue;
    }
    fs::create_directories(base / "sys/kernel/iommu_groups" / std::to_string(nic.group) /
                           "devices");
    fs::create_directory_symlink(
        fs::path("../../../kernel/iommu_groups") / std::to_string(nic.group), dir / "iommu_group");
  }
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Nic> nics;
  std::vector<std::string> cables, sources;
  std::vector<std::pair<size_t, std::string>> replays, captures;  // NIC index, absolute path
  std::vector<std::pair<size_t, std::string>> taps;               // NIC index, interface
  std::string driver = kVfioPci;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--help" || arg == "-h") return usage(""), 0;
    if ((arg == "--nic" || arg == "--cable" || arg == "--source" || arg == "--pcap-in" ||
         arg == "--capture" || arg == "--tap" || arg == "--driver") &&
        i + 1 >= argc) {
      return usage(arg + " needs a value");
    }
    if (arg == "--nic") {
      const std::vector<std::string> parts = absl::StrSplit(argv[++i], '=');
      if (parts.size() != 2) return usage(absl::StrCat("--nic ", argv[i], ": want ADDRESS=KIND"));
      if (safenic::sim::find_kind(parts[1]) == nullptr) {
        return usage(absl::StrCat("--nic ", argv[i], ": no simulated NIC '", parts[1], "'"));
      }
      nics.push_back({parts[0], parts[1], static_cast<int>(nics.size())});
    } else if (arg == "--cable") {
      const std::vector<std::string> ends = absl::StrSplit(argv[++i], ',');
      size_t a = 0, b = 0;
      if (ends.size() != 2 || !absl::SimpleAtoi(ends[0], &a) || !absl::SimpleAtoi(ends[1], &b)) {
        return usage(absl::StrCat("--cable ", argv[i], ": want I,J"));
      }
      cables.push_back(absl::StrCat(a, "-", b));
    } else if (arg == "--source") {
      size_t a = 0;
      if (!absl::SimpleAtoi(argv[++i], &a))
        return usage(absl::StrCat("--source ", argv[i], ": want a NIC's index"));
      sources.push_back(absl::StrCat(a));
    } else if (arg == "--driver") {
      driver = argv[++i];
      if (driver != kVfioPci && driver != kUioPciGeneric) {
        return usage(absl::StrCat("--driver ", driver, ": want vfio-pci or uio_pci_generic"));
      }
    } else if (arg == "--tap") {
      const std::vector<std::string> parts = absl::StrSplit(argv[++i], '=');
      size_t a = 0;
      if (parts.size() != 2 || parts[1].empty() || !absl::SimpleAtoi(parts[0], &a)) {
        return usage(absl::StrCat("--tap ", argv[i], ": want I=NAME"));
      }
      taps.emplace_back(a, parts[1]);
    } else if (arg == "--pcap-in" || arg == "--capture") {
      const std::string value = argv[++i];
      const size_t eq = value.find('=');
      size_t a = 0;
      if (eq == std::string::npos || eq + 1 == value.size() ||
          !absl::SimpleAtoi(value.substr(0, eq), &a)) {
        return usage(absl::StrCat(arg, " ", value, ": want I=FILE"));
      }
      // Absolute: the program may change its directory.
      const std::string path = fs::absolute(value.substr(eq + 1)).string();
      if (arg == "--pcap-in" && !fs::is_regular_file(path)) {
        return usage(absl::StrCat(arg, " ", value, ": no file ", path));
      }
      (arg == "--pcap-in" ? replays : captures).emplace_back(a, path);
    } else {
      return usage("unknown option " + arg);
    }
  }
  if (i >= argc) return usage("no program to run (after --)");
  if (nics.empty()) return usage("no --nic");

  // libsafenic_preload.so sits next to this program.
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path preload = self.parent_path() / "libsafenic_preload.so";
  if (ec || !fs::exists(preload))
    return usage("cannot find libsafenic_preload.so next to " + self.string());

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/safenic-nics.XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "run_with_simulated_nics: mkdtemp: %s\n", std::strerror(errno));
    return 2;
  }
  const fs::path base = tmpl;
  std::vector<std::string> specs;
  for (Nic& nic : nics) {
    if (driver == kVfioPci) nic.group += 100;  // IOMMU groups 100, 101, ...; uio0, uio1, ...
    specs.push_back(
        absl::StrCat(nic.address, "=", nic.kind, "@", driver == kVfioPci ? "" : "uio", nic.group));
  }
  try {
    write_sysfs(base, nics, driver);
  } catch (const std::exception& e) {
    fs::remove_all(base, ec);
    std::fprintf(stderr, "run_with_simulated_nics: %s\n", e.what());
    return 2;
  }
  const fs::path summary = base / "summary";

  const pid_t child = fork();
  if (child == 0) {
    const char* old = std::getenv("LD_PRELOAD");
    const std::string preloads =
        old != nullptr && *old ? absl::StrCat(preload.string(), ":", old) : preload.string();
    setenv("LD_PRELOAD", preloads.c_str(), 1);
    setenv("SYSFS_PCI_DEVICES", (base / "sys/bus/pci/devices").c_str(), 1);
    setenv("SAFENIC_SIM_NICS", absl::StrJoin(specs, ",").c_str(), 1);
    setenv("SAFENIC_SIM_CABLES", absl::StrJoin(cables, ",").c_str(), 1);
    setenv("SAFENIC_SIM_SOURCES", absl::StrJoin(sources, ",").c_str(), 1);
    for (const auto& [nic, path] : replays)
      setenv(absl::StrCat("SAFENIC_SIM_PCAP_IN_", nic).c_str(), path.c_str(), 1);
    for (const auto& [nic, path] : captures)
      setenv(absl::StrCat("SAFENIC_SIM_CAPTURE_", nic).c_str(), path.c_str(), 1);
    for (const auto& [nic, name] : taps)
      setenv(absl::StrCat("SAFENIC_SIM_TAP_", nic).c_str(), name.c_str(), 1);
    setenv("SAFENIC_SIM_SUMMARY", summary.c_str(), 1);
    execvp(argv[i], argv + i);
    std::fprintf(stderr, "run_with_simulated_nics: cannot run %s: %s\n", argv[i],
                 std::strerror(errno));
    _exit(127);
  }
  // Ctrl-C and kill reach the program, which ends as it would (the library
  // writes its summary at exit); the launcher waits for it.
  g_child = child;
  struct sigaction forward = {};
  forward.sa_handler = [](int sig) { kill(g_child, sig); };
  sigemptyset(&forward.sa_mask);
  sigaction(SIGINT, &forward, nullptr);
  sigaction(SIGTERM, &forward, nullptr);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string report = read_all(summary);
  fs::remove_all(base, ec);
  size_t violations = 0;
  if (report.rfind("violations ", 0) == 0) {
    (void)absl::SimpleAtoi(report.substr(11, report.find('\n') - 11), &violations);
  }
  // The library writes "loaded" when it starts and the summary at exit.
  const bool loaded = !report.empty(), summarised = report.rfind("violations ", 0) == 0;
  std::fprintf(
      stderr, "run_with_simulated_nics: %s",
      !loaded ? "the program left no summary (did it load libsafenic_preload.so? a static program "
                "cannot)\n"
      : !summarised
          ? "the program ended before the library could write its summary (_exit, or a register "
            "access the trap handler could not emulate: see above)\n"
          : report.c_str());
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "run_with_simulated_nics: %s killed by signal %d\n", argv[i],
                 WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code != 0) return code;
  if (!loaded) return 4;
  return violations != 0 || !summarised ? 3 : 0;
}
