// loadgen: load generator for the takeout sample app (usage: loadgen --help).
// The run itself is run_loadgen (tools/loadgen/run.hpp); this prints its
// JSON report as the last line of stdout.
#include <cstdio>

#include "tools/loadgen/options.hpp"
#include "tools/loadgen/run.hpp"

int main(int argc, char** argv) {
  using namespace ezone::loadgen;
  auto options = parse_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "loadgen: %s\n(see loadgen --help)\n", options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  auto result = run_loadgen(*options);
  if (!result) {
    std::fprintf(stderr, "loadgen: %s\n", result.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", result->report.dump().c_str());
  return result->ok ? 0 : 1;
}
