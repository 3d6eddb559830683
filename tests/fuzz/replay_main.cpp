// Without libFuzzer (GCC builds), a fuzz target runs every file of its seed corpus once: the
// corpus becomes a regression test. Prints one summary line for the test count.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i]))
        files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++inputs;
    }
  }
  // A target that finds nothing to replay is a broken set-up, not a pass.
  std::printf("[fuzz-replay] %zu inputs\n", inputs);
  std::printf("[fuzz-replay] test cases: 1 | %d passed | %d failed\n", inputs > 0 ? 1 : 0,
              inputs > 0 ? 0 : 1);
  return inputs > 0 ? 0 : 1;
}
