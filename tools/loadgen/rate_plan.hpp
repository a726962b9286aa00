// How fast the load generator starts flows: the rate profile of one run and
// the search of --find-max. Pure functions, so tests drive them directly.
#pragma once

#include <optional>
#include <string>

#include "core/status.hpp"

namespace ezone::loadgen {

enum class Profile { flat, peaks };

Result<Profile> parse_profile(const std::string& text);
const char* profile_name(Profile p);

// Flows per second at t_s seconds into a run of duration_s, for a run whose
// rate flag is rate. flat: rate throughout. peaks: a day compressed into the
// run, with a lunch peak at 30% and a dinner peak at 75% of it (Gaussian
// bumps, dinner the taller) over a base of 20%; `rate` is the height of the
// dinner peak, the run's highest rate. Never below 1% of rate, so pacing
// always moves on.
double rate_at(Profile profile, double rate, double t_s, double duration_s);

// --find-max: double the rate while steps pass, then bisect between the last
// pass and the first failure. When the very first step fails, halve the rate
// (at most kFindMaxHalvingsMax times) until one passes, then bisect as well. A step passes when its p99 (worst of the four
// steps) is within the bound, it had no error, and it achieved at least
// kFindMaxAchievedMin of its target rate (otherwise the generator or the
// system fell behind, and the p99 understates it).
constexpr double kFindMaxAchievedMin = 0.9;
constexpr int kFindMaxHalvingsMax = 4;

struct StepOutcome {
  double target_rate = 0;
  double achieved_rate = 0;
  int64_t p99_us = 0;
  uint64_t errors = 0;
};

bool step_passes(const StepOutcome& outcome, int64_t p99_bound_us);

class FindMaxSearch {
 public:
  // start_rate > 0; bisect_steps >= 0 is how many bisections follow the
  // first failure; rate_max bounds the doubling.
  FindMaxSearch(double start_rate, int bisect_steps, double rate_max);

  // The rate of the next step, or nullopt when the search is over.
  std::optional<double> next_rate() const;
  void record(const StepOutcome& outcome, int64_t p99_bound_us);
  // The highest passing target rate so far (0 if none passed).
  double best_rate() const { return best_; }

 private:
  double next_;
  double best_ = 0;
  double failed_ = 0;  // lowest failing rate, 0 = none yet
  int bisect_left_;
  int halvings_left_ = kFindMaxHalvingsMax;
  double rate_max_;
  bool done_ = false;
};

}  // namespace ezone::loadgen
