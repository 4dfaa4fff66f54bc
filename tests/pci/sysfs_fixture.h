// A directory tree laid out like sysfs for tests (Documentation/PCI/
// sysfs-pci.rst): <base>/sys/bus/pci/devices/<address> links to
// <base>/sys/devices/pci0000:00/<address>, which holds vendor, device, class,
// config, resource and resourceN; `driver` links to
// <base>/sys/bus/pci/drivers/<name> (with an `unbind` file) and `iommu_group`
// to <base>/sys/kernel/iommu_groups/<n>. A BAR is a plain file of the BAR's
// size, so mapping it maps the file. Also a /proc/meminfo stand-in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nic/pci/syscalls.h"
#include "nic/pci_function.h"

namespace safenic::pci::testing {

struct FixtureDevice {
  std::string address = "0000:03:00.0";
  PciId id = {0x8086, 0x10FB};  // an 82599ES
  uint32_t class_code = 0x020000;
  std::string driver = "";  // "" = no driver bound
  int iommu_group = -1;     // -1 = no IOMMU group
  size_t bar0_size = 512 * 1024;
  uint8_t bar0_fill = 0xFF;                  // all ones: what a vanished device reads
  bool bar0_io = false;                      // BAR 0 is I/O port space
  uint8_t config_fill = 0;                   // 0xFF: config space of a vanished device
  std::vector<std::string> interfaces = {};  // <dev>/net/<name>
};

class SysfsFixture {
 public:
  SysfsFixture();  // a fresh tree under $TEST_TMPDIR
  ~SysfsFixture();

  std::string root() const { return base_ + "/sys/bus/pci/devices"; }
  std::string base() const { return base_; }
  // Adds a device; returns its directory.
  std::string add(const FixtureDevice& d);
  // Writes a /proc/meminfo look-alike; returns its path.
  std::string meminfo(long total, long free, long size_kb = 2048);
  static std::string read_file(const std::string& path);
  static void write_file(const std::string& path, const std::string& data);

 private:
  std::string base_;
};

// The real system calls, except: geteuid() says `euid`, and writing a
// device's address to <device>/driver/unbind unbinds it as the kernel would
// (the `driver` link goes away) when `unbind_works`.
class FakeKernel : public Syscalls {
 public:
  uid_t euid = 0;
  bool unbind_works = true;
  std::vector<std::string> unbound;  // addresses written to an unbind file

  uid_t geteuid() override { return euid; }
  int open(const char* path, int flags) override;
  int close(int fd) override;
  ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) override;

 private:
  std::map<int, std::string> unbind_files_;  // fd -> device directory
};

}  // namespace safenic::pci::testing
