#include "tools/loadgen/rate_plan.hpp"

#include <algorithm>
#include <cmath>

namespace ezone::loadgen {
namespace {

double bump(double x, double centre, double width) {
  const double d = (x - centre) / width;
  return std::exp(-d * d / 2);
}

double peaks_shape(double x) { return 0.2 + 0.6 * bump(x, 0.30, 0.06) + 0.8 * bump(x, 0.75, 0.07); }

}  // namespace

Result<Profile> parse_profile(const std::string& text) {
  if (text == "flat") return Profile::flat;
  if (text == "peaks") return Profile::peaks;
  return Status(Errc::invalid_argument, "--profile must be flat or peaks, not '" + text + "'");
}

const char* profile_name(Profile p) { return p == Profile::flat ? "flat" : "peaks"; }

double rate_at(Profile profile, double rate, double t_s, double duration_s) {
  if (profile == Profile::flat || duration_s <= 0) return rate;
  const double x = std::clamp(t_s / duration_s, 0.0, 1.0);
  const double peak = peaks_shape(0.75);  // the dinner peak is the maximum of the shape
  return rate * std::max(0.01, peaks_shape(x) / peak);
}

bool step_passes(const StepOutcome& o, int64_t p99_bound_us) {
  return o.errors == 0 && o.p99_us <= p99_bound_us && o.achieved_rate >= kFindMaxAchievedMin * o.target_rate;
}

FindMaxSearch::FindMaxSearch(double start_rate, int bisect_steps, double rate_max)
    : next_(start_rate), bisect_left_(bisect_steps), rate_max_(rate_max) {}

std::optional<double> FindMaxSearch::next_rate() const {
  if (done_) return std::nullopt;
  return next_;
}

void FindMaxSearch::record(const StepOutcome& outcome, int64_t p99_bound_us) {
  if (step_passes(outcome, p99_bound_us)) {
    best_ = std::max(best_, outcome.target_rate);
  } else {
    failed_ = failed_ == 0 ? outcome.target_rate : std::min(failed_, outcome.target_rate);
  }
  if (failed_ == 0) {  // still doubling
    next_ = outcome.target_rate * 2;
    done_ = next_ > rate_max_;
    return;
  }
  if (best_ == 0) {  // nothing passed yet: halve
    next_ = std::floor(failed_ / 2);
    done_ = halvings_left_-- <= 0 || next_ < 1;
    return;
  }
  if (bisect_left_ <= 0 || failed_ - best_ < 1) {
    done_ = true;
    return;
  }
  --bisect_left_;
  next_ = std::floor((best_ + failed_) / 2);
  done_ = next_ <= best_ || next_ >= failed_;
}

}  // namespace ezone::loadgen
