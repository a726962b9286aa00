#include "tools/bench/drc/bench_flags.hpp"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace ezone::drc {
namespace {

bool parse_number(const std::string& text, double* out) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace

Result<BenchFlags> BenchFlags::parse(int argc, char** argv, const std::set<std::string>& switches) {
  BenchFlags f;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return Status(Errc::invalid_argument, "");
    if (switches.count(flag)) {
      f.switches_on_.insert(flag);
      continue;
    }
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc)
      return Status(Errc::invalid_argument, "expected --flag value, got " + flag);
    f.values_[flag] = argv[++i];
  }
  return f;
}

Status BenchFlags::take_number(const char* flag, double min, double* out, bool* found) {
  auto it = values_.find(flag);
  *found = it != values_.end();
  if (!*found) return Status::ok();
  if (!parse_number(it->second, out) || *out < min)
    return Status(Errc::invalid_argument, std::string(flag) + " needs a number >= " + std::to_string(int(min)));
  values_.erase(it);
  return Status::ok();
}

Status BenchFlags::choice(const char* flag, const char* yes, const char* no, bool* field) {
  auto it = values_.find(flag);
  if (it == values_.end()) return Status::ok();
  if (it->second != yes && it->second != no)
    return Status(Errc::invalid_argument, std::string(flag) + " is " + yes + " or " + no);
  *field = it->second == yes;
  values_.erase(it);
  return Status::ok();
}

Status BenchFlags::rates(const char* flag, std::vector<double>* field) {
  auto it = values_.find(flag);
  if (it == values_.end()) return Status::ok();
  std::vector<double> rates;
  std::stringstream list(it->second);
  for (std::string item; std::getline(list, item, ',');) {
    double r = 0;
    if (!parse_number(item, &r) || r <= 0)
      return Status(Errc::invalid_argument, std::string(flag) + " needs positive numbers, like 2000,5000");
    rates.push_back(r);
  }
  if (rates.empty()) return Status(Errc::invalid_argument, std::string(flag) + " needs at least one rate");
  *field = rates;
  values_.erase(it);
  return Status::ok();
}

void BenchFlags::text(const char* flag, std::string* field) {
  auto it = values_.find(flag);
  if (it == values_.end()) return;
  *field = it->second;
  values_.erase(it);
}

Status BenchFlags::finish() const {
  if (values_.empty()) return Status::ok();
  return Status(Errc::invalid_argument, "unknown flag " + values_.begin()->first);
}

}  // namespace ezone::drc
