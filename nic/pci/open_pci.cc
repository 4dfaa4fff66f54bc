#include "nic/pci/open_pci.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "mem/status.h"
#include "nic/open.h"
#include "nic/pci/sysfs_function.h"
#include "nic/pci/vfio_function.h"

namespace safenic::pci {
namespace {

absl::Mutex g_mu(absl::kConstInit);
PciOpenOptions* g_defaults ABSL_GUARDED_BY(g_mu) = nullptr;

absl::StatusOr<std::unique_ptr<PciFunction>> open_spec(const DeviceSpec& spec,
                                                       const DeviceConfig& config) {
  PciOpenOptions options = default_pci_options();
  options.unbind_kernel_driver = config.unbind_kernel_driver;
  if (!config.hugepages) options.vfio_dma = Backing::kAnonymous;
  return open_pci_function(spec.target, options);
}

const bool kRegistered = register_function_provider(DeviceSpec::Kind::kPci, open_spec);

}  // namespace

void set_default_pci_options(const PciOpenOptions& options) {
  absl::MutexLock lock(&g_mu);
  if (g_defaults == nullptr) g_defaults = new PciOpenOptions();
  *g_defaults = options;
}

PciOpenOptions default_pci_options() {
  absl::MutexLock lock(&g_mu);
  if (g_defaults != nullptr) return *g_defaults;
  PciOpenOptions options;
  // DPDK's variable for a sysfs tree elsewhere (a container, a simulation).
  if (const char* root = std::getenv("SYSFS_PCI_DEVICES"); root != nullptr && *root != 0) {
    options.sysfs_root = root;
  }
  return options;
}

Environment read_environment(const PciOpenOptions& options) {
  Environment env;
  env.root = options.syscalls->geteuid() == 0;
  env.vfio_available = ::access((options.vfio_dir + "/vfio").c_str(), F_OK) == 0;
  env.vfio_dma_in_hugepages = options.vfio_dma == Backing::kHugepage2M;
  auto hugepages = read_hugepages(options.meminfo);
  if (hugepages.ok()) {
    env.hugepages = *hugepages;
  } else {
    env.hugepages_unknown = hugepages.status();
  }
  return env;
}

absl::StatusOr<std::unique_ptr<PciFunction>> open_pci_function(absl::string_view address,
                                                               const PciOpenOptions& options) {
  (void)kRegistered;
  SAFENIC_ASSIGN_OR_RETURN(auto spec, parse_device_spec(address));
  if (spec.kind != DeviceSpec::Kind::kPci) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' is not a PCI address like 0000:03:00.0", address));
  }
  const SysfsTree tree(options.sysfs_root);
  SAFENIC_ASSIGN_OR_RETURN(auto device, tree.find(spec.target));
  const OpenPlan plan = plan_open(tree, device, driver_for(device.id), read_environment(options),
                                  options.unbind_kernel_driver);
  if (!plan.blocker.ok()) return plan.blocker;
  if (plan.unbind_first) {
    SAFENIC_RETURN_IF_ERROR(tree.unbind_kernel_driver(device, *options.syscalls));
    device.kernel_driver.clear();
  }
  if (plan.path == OpenPlan::Path::kVfio) {
    SAFENIC_ASSIGN_OR_RETURN(auto container,
                             VfioContainer::shared(options.syscalls, options.vfio_dir));
    SAFENIC_ASSIGN_OR_RETURN(auto fn,
                             VfioFunction::open(device, std::move(container), options.vfio_dma));
    return std::unique_ptr<PciFunction>(std::move(fn));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto fn, SysfsFunction::open(device, options.syscalls));
  return std::unique_ptr<PciFunction>(std::move(fn));
}

}  // namespace safenic::pci
