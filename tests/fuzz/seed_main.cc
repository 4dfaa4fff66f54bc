// Runs a fuzz target over its checked-in seed corpus (every file in the
// directories given as arguments), so ordinary builds (g++, --config=asan)
// test the hostile-device harnesses too. libFuzzer builds do not link this.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
  }
  LLVMFuzzerTestOneInput(nullptr, 0);
  std::printf("%zu seed inputs ran clean\n", runs);
  return runs == 0 ? 1 : 0;  // an empty corpus is a broken test
}
