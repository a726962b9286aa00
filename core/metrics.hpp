// A small metrics registry rendered in Prometheus text format. Every sample
// carries the node's ezone label, so one scrape config covers all sites.
//
// counter()/gauge() find or create a series and return a reference that
// stays valid for the registry's lifetime; updates are lock-free atomics, so
// hot paths hold the reference and never look it up again.
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

  // The whole registry in Prometheus text exposition format 0.0.4.
  std::string render() const;
  const std::string& ezone() const { return ezone_; }

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    // Keyed by the rendered label set; unique_ptr keeps references stable.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
  };
  Family& family(const std::string& name, const std::string& help, bool is_counter);
  std::string label_text(const MetricLabels& labels) const;

  std::string ezone_;
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace ezone
