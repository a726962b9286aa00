// A small metrics registry rendered in Prometheus text format. Every sample
// carries the node's ezone label, so one scrape config covers all sites.
//
// counter()/gauge()/histogram() find or create a series and return a
// reference that stays valid for the registry's lifetime; updates are
// lock-free atomics, so hot paths hold the reference and never look it up
// again.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ezone {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A fixed-bucket histogram (Prometheus "histogram" type). The bucket upper
// bounds are set at creation and never change, so observe() is a short
// search plus relaxed atomic adds: safe from any thread, no lock.
class Histogram {
 public:
  // Requires bounds to be non-empty and strictly increasing; observations
  // above the last bound land only in the implicit +Inf bucket.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size()
  // gives the total count (+Inf).
  uint64_t cumulative(size_t i) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, not cumulative
  std::atomic<uint64_t> count_{0};
  // The sum in nanounits: an integer add stays lock-free where an atomic
  // double add would need a compare-exchange loop.
  std::atomic<uint64_t> sum_nano_{0};
};

// Latency buckets in seconds, 100 us .. 10 s: wide enough for a local
// dispatch and for a forward that runs into its timeout.
const std::vector<double>& latency_buckets_seconds();

class Metrics {
 public:
  explicit Metrics(std::string ezone) : ezone_(std::move(ezone)) {}
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Requires name to match [a-zA-Z_:][a-zA-Z0-9_:]*; the same name must keep
  // the same help text and kind. Label values are escaped on output.
  Counter& counter(const std::string& name, const std::string& help,
                   const MetricLabels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help,
               const MetricLabels& labels = {});
  // As counter(); every series of one name must use the same bounds (the
  // first series' bounds win; later ones must match or it aborts).
  Histogram& histogram(const std::string& name, const std::string& help,
                       const MetricLabels& labels, const std::vector<double>& bounds);

  // The whole registry in Prometheus text exposition format 0.0.4.
  std::string render() const;
  const std::string& ezone() const { return ezone_; }

 private:
  enum class Kind { counter, gauge, histogram };
  struct Family {
    std::string help;
    Kind kind = Kind::counter;
    // Keyed by the rendered label set; unique_ptr keeps references stable.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(const std::string& name, const std::string& help, Kind kind);
  std::string label_text(const MetricLabels& labels) const;
  static void render_histogram(const std::string& name, const std::string& labels,
                               const Histogram& h, std::string& out);

  std::string ezone_;
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace ezone
