// A VFIO program of its own (no safenic code): opens the PCI device at
// argv[1] through /dev/vfio as any user-space driver does, maps its BAR0,
// reads STATUS (a plain mov: emulated) and then loads 16 bytes with one SSE
// instruction (movdqu), which the trap handler does not decode. Under
// run_with_simulated_nics that must end the program with a message naming
// the BAR offset and the instruction's bytes.
#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bad_bar_access PCI-ADDRESS\n");
    return 2;
  }
  const char* sysfs = std::getenv("SYSFS_PCI_DEVICES");
  const std::string link = std::string(sysfs != nullptr ? sysfs : "/sys/bus/pci/devices") + "/" +
                           argv[1] + "/iommu_group";
  char target[4096] = {};
  if (readlink(link.c_str(), target, sizeof target - 1) < 0) die("readlink iommu_group");
  const std::string group_path =
      "/dev/vfio/" + std::string(target).substr(std::string(target).rfind('/') + 1);
  const int container = open("/dev/vfio/vfio", O_RDWR);
  if (container < 0) die("open /dev/vfio/vfio");
  const int group = open(group_path.c_str(), O_RDWR);
  if (group < 0) die("open the group");
  if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0) die("VFIO_GROUP_SET_CONTAINER");
  if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0) die("VFIO_SET_IOMMU");
  const int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
  if (device < 0) die("VFIO_GROUP_GET_DEVICE_FD");
  vfio_region_info region = {};
  region.argsz = sizeof region;
  region.index = VFIO_PCI_BAR0_REGION_INDEX;
  if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &region) < 0) die("VFIO_DEVICE_GET_REGION_INFO");
  void* bar = mmap(nullptr, region.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
                   static_cast<off_t>(region.offset));
  if (bar == MAP_FAILED) die("mmap BAR0");
  volatile uint8_t* const base = static_cast<volatile uint8_t*>(bar);
  std::printf("STATUS %#x\n", *reinterpret_cast<volatile uint32_t*>(base + 0x8));
  std::fflush(stdout);
  uint64_t sixteen[2];
  asm volatile("movdqu (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)"
               :
               : "r"(sixteen), "r"(base + 0x10)
               : "xmm0", "memory");
  std::printf("the 16-byte load returned %#lx\n", static_cast<unsigned long>(sixteen[0]));
  return 0;
}
