#include "nic/pci/plan.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nic/open.h"

namespace safenic::pci {
namespace {

std::string sysfs_advice(const SysfsTree& tree, const PciDeviceInfo& d) {
  if (d.iommu_group < 0) {
    return "It has no IOMMU group, so VFIO cannot take it (boot with intel_iommu=on or "
           "amd_iommu=on to get one); run as root to use the sysfs path";
  }
  return absl::StrFormat(
      "Run as root to use the sysfs path, or (safer: the IOMMU confines the device) bind "
      "it to vfio-pci: %s",
      bind_vfio_commands(tree, d));
}

}  // namespace

std::string unbind_command(const SysfsTree& tree, const PciDeviceInfo& d) {
  return absl::StrFormat("echo %s | sudo tee %s/%s/driver/unbind", d.address, tree.root(),
                         d.address);
}

std::string bind_vfio_commands(const SysfsTree& tree, const PciDeviceInfo& d) {
  std::string cmds = "sudo modprobe vfio-pci; ";
  if (!d.kernel_driver.empty()) cmds += unbind_command(tree, d) + "; ";
  return cmds + absl::StrFormat(
                    "echo vfio-pci | sudo tee %s/%s/driver_override; echo %s | sudo tee "
                    "%s/drivers_probe",
                    tree.root(), d.address, d.address, tree.bus_dir());
}

std::string describe_model(const PciDeviceInfo& d) {
  absl::string_view model = device_model(d.id);
  return std::string(model.empty() ? class_name(d.class_code) : model);
}

OpenPlan plan_open(const SysfsTree& tree, const PciDeviceInfo& d, absl::string_view driver,
                   const Environment& env, bool unbind_kernel_driver) {
  OpenPlan plan;
  plan.driver = std::string(driver);
  if (d.id.vendor == 0xFFFF) {
    plan.blocker = absl::UnavailableError(
        absl::StrFormat("%s: its vendor id reads 0xffff: the device is gone or powered off; check "
                        "`lspci -s %s` and dmesg",
                        d.address, d.address));
    return plan;
  }
  if (driver.empty()) {
    absl::string_view model = device_model(d.id);
    plan.blocker = absl::NotFoundError(
        model.empty()
            ? absl::StrFormat("%s: %04x:%04x is a %s, not a NIC that a safenic driver in "
                              "this program supports",
                              d.address, d.id.vendor, d.id.device, class_name(d.class_code))
            : absl::StrFormat("%s: no safenic driver in this program supports %s "
                              "(%04x:%04x); //:safenic links every driver safenic has",
                              d.address, model, d.id.vendor, d.id.device));
    return plan;
  }
  const std::string interfaces =
      d.interfaces.empty()
          ? ""
          : absl::StrFormat(" as network interface %s", absl::StrJoin(d.interfaces, ", "));
  if (is_vfio_driver(d.kernel_driver)) {
    plan.path = OpenPlan::Path::kVfio;
    if (d.iommu_group < 0) {
      plan.blocker = absl::FailedPreconditionError(absl::StrFormat(
          "%s is bound to vfio-pci but has no IOMMU group: boot with the IOMMU on "
          "(intel_iommu=on or amd_iommu=on), or unbind it (%s) and use the sysfs path "
          "as root",
          d.address, unbind_command(tree, d)));
    } else if (!env.vfio_available) {
      plan.blocker = absl::FailedPreconditionError(absl::StrFormat(
          "%s is bound to vfio-pci, but /dev/vfio/vfio is missing: load VFIO with `sudo "
          "modprobe vfio-pci`",
          d.address));
    }
  } else if (d.kernel_driver.empty() || is_uio_driver(d.kernel_driver)) {
    plan.path = OpenPlan::Path::kSysfs;
    if (!env.root) {
      plan.blocker = absl::PermissionDeniedError(absl::StrFormat(
          "%s: driving a device through sysfs (resource files, physical addresses from "
          "/proc/self/pagemap) needs root. %s",
          d.address, sysfs_advice(tree, d)));
    }
  } else if (unbind_kernel_driver) {
    plan.path = OpenPlan::Path::kSysfs;
    plan.unbind_first = true;
    if (!env.root) {
      plan.blocker = absl::PermissionDeniedError(absl::StrFormat(
          "%s: unbinding kernel driver %s and driving the device through sysfs need "
          "root: run as root",
          d.address, d.kernel_driver));
    }
  } else {
    const std::string vfio = d.iommu_group >= 0
                                 ? absl::StrFormat(
                                       "; or bind it to vfio-pci (VFIO: the IOMMU confines the "
                                       "device, no root needed): %s",
                                       bind_vfio_commands(tree, d))
                                 : std::string(" (it has no IOMMU group, so VFIO is not possible)");
    plan.blocker = absl::FailedPreconditionError(absl::StrFormat(
        "%s is bound to kernel driver %s%s, which would fight safenic for it; the kernel "
        "loses the device when it is unbound (if it carries this machine's own network, "
        "so do you). Either unbind it and run as root (sysfs): %s%s; or let safenic "
        "unbind it, as root: DeviceConfig::unbind_kernel_driver = true",
        d.address, d.kernel_driver, interfaces, unbind_command(tree, d), vfio));
  }
  if (plan.path == OpenPlan::Path::kVfio && !env.vfio_dma_in_hugepages) return plan;
  if (plan.blocker.ok()) plan.blocker = env.hugepages_unknown;
  if (plan.blocker.ok()) plan.blocker = check_hugepages(env.hugepages);
  return plan;
}

}  // namespace safenic::pci
