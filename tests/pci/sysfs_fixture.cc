#include "tests/pci/sysfs_fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace safenic::pci::testing {
namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void mkdirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      const std::string p = path.substr(0, i);
      check(::mkdir(p.c_str(), 0755) == 0 || errno == EEXIST, "mkdir " + p);
    }
  }
}

void symlink_to(const std::string& target, const std::string& link) {
  check(::symlink(target.c_str(), link.c_str()) == 0, "symlink " + link);
}

}  // namespace

SysfsFixture::SysfsFixture() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/sysfs.XXXXXX");
  check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  base_ = tmpl;
  mkdirs(root());
  mkdirs(base_ + "/sys/devices/pci0000:00");
  mkdirs(base_ + "/sys/bus/pci/drivers");
  mkdirs(base_ + "/sys/kernel/iommu_groups");
  write_file(base_ + "/sys/bus/pci/drivers_probe", "");
}

SysfsFixture::~SysfsFixture() = default;

std::string SysfsFixture::add(const FixtureDevice& d) {
  const std::string dir = absl::StrCat(base_, "/sys/devices/pci0000:00/", d.address);
  mkdirs(dir);
  symlink_to(absl::StrCat("../../../devices/pci0000:00/", d.address),
             absl::StrCat(root(), "/", d.address));
  write_file(dir + "/vendor", absl::StrFormat("0x%04x\n", d.id.vendor));
  write_file(dir + "/device", absl::StrFormat("0x%04x\n", d.id.device));
  write_file(dir + "/class", absl::StrFormat("0x%06x\n", d.class_code));

  // Configuration space (PCI Local Bus spec 3.0 §6.1), little-endian.
  std::string config(4096, static_cast<char>(d.config_fill));
  if (d.config_fill == 0) {
    auto put16 = [&](size_t off, uint16_t v) {
      config[off] = static_cast<char>(v & 0xFF);
      config[off + 1] = static_cast<char>(v >> 8);
    };
    put16(0x00, d.id.vendor);
    put16(0x02, d.id.device);
    config[0x09] = static_cast<char>(d.class_code & 0xFF);
    config[0x0A] = static_cast<char>((d.class_code >> 8) & 0xFF);
    config[0x0B] = static_cast<char>((d.class_code >> 16) & 0xFF);
  }
  write_file(dir + "/config", config);

  // resource: one "start end flags" line per BAR, ROM and bridge windows.
  std::string resource;
  for (int i = 0; i < 13; ++i) {
    if (i == 0 && d.bar0_size > 0) {
      const uint64_t start = d.bar0_io ? 0xe000 : 0xfe000000;
      absl::StrAppendFormat(&resource, "0x%016x 0x%016x 0x%016x\n", start, start + d.bar0_size - 1,
                            d.bar0_io ? 0x40101 : 0x40200);
    } else {
      resource += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
    }
  }
  write_file(dir + "/resource", resource);
  if (d.bar0_size > 0) {
    write_file(dir + "/resource0", std::string(d.bar0_size, static_cast<char>(d.bar0_fill)));
  }

  if (!d.driver.empty()) {
    const std::string drv = absl::StrCat(base_, "/sys/bus/pci/drivers/", d.driver);
    mkdirs(drv);
    if (::access((drv + "/unbind").c_str(), F_OK) != 0) write_file(drv + "/unbind", "");
    symlink_to(absl::StrCat("../../../bus/pci/drivers/", d.driver), dir + "/driver");
  }
  if (d.iommu_group >= 0) {
    const std::string group = absl::StrCat(base_, "/sys/kernel/iommu_groups/", d.iommu_group);
    mkdirs(group + "/devices");
    symlink_to(absl::StrCat("../../../kernel/iommu_groups/", d.iommu_group), dir + "/iommu_group");
  }
  for (const std::string& name : d.interfaces) mkdirs(absl::StrCat(dir, "/net/", name));
  return dir;
}

std::string SysfsFixture::meminfo(long total, long free, long size_kb) {
  const std::string path = base_ + "/meminfo";
  write_file(path, absl::StrFormat("MemTotal:        4017000 kB\nMemFree:         2000000 kB\n"
                                   "HugePages_Total:    %d\nHugePages_Free:     %d\n"
                                   "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
                                   "Hugepagesize:       %d kB\nHugetlb:           %d kB\n",
                                   total, free, size_kb, total * size_kb));
  return path;
}

std::string SysfsFixture::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void SysfsFixture::write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  check(static_cast<bool>(out), "write " + path);
}

int FakeKernel::open(const char* path, int flags) {
  const int fd = Syscalls::open(path, flags);
  const std::string p(path);
  const std::string suffix = "/driver/unbind";
  if (fd >= 0 && p.size() > suffix.size() &&
      p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
    unbind_files_[fd] = p.substr(0, p.size() - suffix.size());
  }
  return fd;
}

int FakeKernel::close(int fd) {
  unbind_files_.erase(fd);
  return Syscalls::close(fd);
}

ssize_t FakeKernel::pwrite(int fd, const void* buf, size_t len, off_t offset) {
  const ssize_t n = Syscalls::pwrite(fd, buf, len, offset);
  auto it = unbind_files_.find(fd);
  if (n > 0 && it != unbind_files_.end()) {
    const std::string address(static_cast<const char*>(buf), len);
    unbound.push_back(address);
    const std::string dir = it->second;
    if (unbind_works && dir.size() >= address.size() &&
        dir.compare(dir.size() - address.size(), address.size(), address) == 0) {
      ::unlink((dir + "/driver").c_str());
    }
  }
  return n;
}

}  // namespace safenic::pci::testing
