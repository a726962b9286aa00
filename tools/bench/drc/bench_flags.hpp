// The DRC benches' command lines: "--name value" pairs and bare switches,
// taken one by one into typed fields; a flag nobody took is an error.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone::drc {

class BenchFlags {
 public:
  // "--help" or "-h" gives an error with an empty message.
  static Result<BenchFlags> parse(int argc, char** argv, const std::set<std::string>& switches = {});

  bool on(const std::string& name) const { return switches_on_.count(name) > 0; }
  // A number >= min, converted to the field's type.
  template <class T>
  Status number(const char* flag, T* field, double min) {
    double v = 0;
    bool found = false;
    if (Status s = take_number(flag, min, &v, &found); !s || !found) return s;
    *field = static_cast<T>(v);
    return Status::ok();
  }
  // yes -> true, no -> false.
  Status choice(const char* flag, const char* yes, const char* no, bool* field);
  // A comma-separated list of positive numbers.
  Status rates(const char* flag, std::vector<double>* field);
  void text(const char* flag, std::string* field);
  // An error naming the first flag that nothing took.
  Status finish() const;

 private:
  Status take_number(const char* flag, double min, double* out, bool* found);

  std::map<std::string, std::string> values_;
  std::set<std::string> switches_on_;
};

}  // namespace ezone::drc
