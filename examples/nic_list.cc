// nic_list: the PCI network devices of this machine, the safenic driver that
// would take each, the kernel driver bound now, its IOMMU group, the
// hugepages reserved, and what to do to use each one with open_device().
//
//   ./bazelw run //examples:nic_list             (as root it sees the same)
//   nic_list --all                               every PCI device, not only NICs
//   nic_list --sysfs_root=DIR --meminfo=FILE     a tree laid out like sysfs (tests)
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nic/open.h"
#include "nic/pci/open_pci.h"
#include "nic/pci/plan.h"
#include "nic/pci/sysfs.h"

ABSL_FLAG(std::string, sysfs_root, safenic::pci::kSysfsPciDevices,
          "directory with one entry per PCI function, like /sys/bus/pci/devices");
ABSL_FLAG(std::string, meminfo, "/proc/meminfo", "where hugepage counts are read");
ABSL_FLAG(std::string, vfio_dir, safenic::pci::kVfioDir, "where VFIO's device files are");
ABSL_FLAG(bool, all, false, "list every PCI device, not only network controllers");

namespace safenic::pci {
namespace {

// `text` broken into lines of at most `width` columns, each after `indent`.
std::string wrap(const std::string& text, size_t indent, size_t width = 100) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, line, "\n", std::string(indent, ' '));
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line.append(word.data(), word.size());
  }
  return out + line;
}

// "  label:          text", wrapped under itself; `indent` spaces before the label.
std::string format_status(const std::string& label, const std::string& text, size_t indent = 2) {
  return absl::StrFormat("%s%-16s%s\n", std::string(indent, ' '), label, wrap(text, indent + 16));
}

void print_device(const SysfsTree& tree, const PciDeviceInfo& d, const Environment& env) {
  const std::string driver(driver_for(d.id));
  std::printf("%s  %04x:%04x  %s (class 0x%06x)\n", d.address.c_str(), d.id.vendor, d.id.device,
              describe_model(d).c_str(), d.class_code);
  std::string out;
  out += format_status("safenic driver:", driver.empty() ? "none" : driver);
  std::string kernel = d.kernel_driver.empty() ? "none" : d.kernel_driver;
  if (!d.interfaces.empty()) {
    absl::StrAppend(&kernel, " (interface ", absl::StrJoin(d.interfaces, ", "), ")");
  }
  out += format_status("kernel driver:", kernel);
  out +=
      format_status("IOMMU group:", d.iommu_group < 0 ? std::string("none (VFIO is not possible)")
                                                      : absl::StrFormat("%d", d.iommu_group));
  const OpenPlan plan = plan_open(tree, d, driver, env, /*unbind_kernel_driver=*/false);
  std::string todo;
  if (plan.blocker.ok()) {
    todo = absl::StrFormat("ready: open_device(\"%s\") drives it through %s", d.address,
                           plan.path == OpenPlan::Path::kVfio ? "VFIO" : "sysfs");
  } else {
    todo = std::string(plan.blocker.message());
  }
  out += format_status("to use it:", todo);
  std::fputs(out.c_str(), stdout);
}

int run() {
  PciOpenOptions options;
  options.sysfs_root = absl::GetFlag(FLAGS_sysfs_root);
  options.meminfo = absl::GetFlag(FLAGS_meminfo);
  options.vfio_dir = absl::GetFlag(FLAGS_vfio_dir);
  const SysfsTree tree(options.sysfs_root);
  auto devices = tree.list();
  if (!devices.ok()) {
    std::fprintf(stderr, "nic_list: %s\n", std::string(devices.status().message()).c_str());
    return 1;
  }
  const Environment env = read_environment(options);
  const bool all = absl::GetFlag(FLAGS_all);
  std::vector<const PciDeviceInfo*> shown;
  for (const PciDeviceInfo& d : *devices) {
    if (all || d.is_network()) shown.push_back(&d);
  }
  std::printf("nic_list: %zu %s of %zu PCI devices under %s\n", shown.size(),
              all ? "device(s)" : "network controller(s) (class 0x02)", devices->size(),
              tree.root().c_str());
  for (const PciDeviceInfo* d : shown) print_device(tree, *d, env);
  if (shown.empty()) {
    std::printf(
        "no PCI network devices here: safenic has no NIC to drive on this machine. The "
        "simulated NICs need none: open_device(\"sim:82599\")\n");
  }
  std::string hugepages = env.hugepages_unknown.ok() ? describe(env.hugepages)
                                                     : std::string(env.hugepages_unknown.message());
  const std::string vfio = env.vfio_available ? options.vfio_dir + "/vfio is present"
                                              : "not loaded (" + options.vfio_dir +
                                                    "/vfio is missing): sudo modprobe vfio-pci";
  std::string summary = format_status("hugepages:", hugepages, 0);
  summary += format_status("VFIO:", vfio, 0);
  summary += format_status("running as:", env.root ? "root" : "not root (sysfs needs root)", 0);
  std::fputs(summary.c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace safenic::pci

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lists PCI network devices and what it takes to drive each with safenic");
  absl::ParseCommandLine(argc, argv);
  return safenic::pci::run();
}
