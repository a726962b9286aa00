#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/assert.hpp"

namespace ezone {
namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Prometheus renders le values as plain decimals ("0.005", "+Inf").
std::string bound_text(double bound) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", bound);
  return buf;
}

constexpr double kNanoPerUnit = 1e9;

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size()]) {
  EZONE_ASSERT(!bounds_.empty(), "histogram needs at least one bucket bound");
  for (size_t i = 0; i < bounds_.size(); ++i) {
    EZONE_ASSERT(i == 0 || bounds_[i] > bounds_[i - 1], "histogram bounds must increase");
    buckets_[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double value) {
  auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  if (at != bounds_.end()) buckets_[static_cast<size_t>(at - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  // Negative or non-finite values would corrupt the sum; they are measurement bugs.
  if (std::isfinite(value) && value > 0)
    sum_nano_.fetch_add(static_cast<uint64_t>(value * kNanoPerUnit), std::memory_order_relaxed);
}

uint64_t Histogram::cumulative(size_t i) const {
  if (i >= bounds_.size()) return count();
  uint64_t total = 0;
  for (size_t b = 0; b <= i; ++b) total += buckets_[b].load(std::memory_order_relaxed);
  return total;
}

double Histogram::sum() const {
  return static_cast<double>(sum_nano_.load(std::memory_order_relaxed)) / kNanoPerUnit;
}

const std::vector<double>& latency_buckets_seconds() {
  static const std::vector<double> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                              0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                              1,      2.5,     5,      10};
  return kBounds;
}

std::string Metrics::label_text(const MetricLabels& labels) const {
  std::string out = "{ezone=\"" + escape_label(ezone_) + "\"";
  for (const auto& [key, value] : labels) out += "," + key + "=\"" + escape_label(value) + "\"";
  return out + "}";
}

Metrics::Family& Metrics::family(const std::string& name, const std::string& help, Kind kind) {
  // Metric names are chosen by our code, never by outside input.
  EZONE_ASSERT(valid_name(name), "invalid metric name " + name);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.kind = kind;
  }
  EZONE_ASSERT(it->second.kind == kind, "metric kind changed for " + name);
  return it->second;
}

Counter& Metrics::counter(const std::string& name, const std::string& help,
                          const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = family(name, help, Kind::counter).counters[label_text(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help,
                      const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = family(name, help, Kind::gauge).gauges[label_text(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help,
                              const MetricLabels& labels, const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& fam = family(name, help, Kind::histogram);
  if (!fam.histograms.empty())
    EZONE_ASSERT(fam.histograms.begin()->second->bounds() == bounds,
                 "histogram bounds changed for " + name);
  auto& slot = fam.histograms[label_text(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Metrics::render_histogram(const std::string& name, const std::string& labels,
                               const Histogram& h, std::string& out) {
  // labels is "{...}"; each bucket line adds le inside the braces.
  std::string open = labels.substr(0, labels.size() - 1) + ",le=\"";
  uint64_t running = 0;
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    running = h.cumulative(i);
    out += name + "_bucket" + open + bound_text(h.bounds()[i]) + "\"} " +
           std::to_string(running) + "\n";
  }
  // Observers bump a bucket before the count, so a scrape can see the count
  // lag; +Inf must never be below a finite bucket.
  uint64_t total = std::max(running, h.count());
  out += name + "_bucket" + open + "+Inf\"} " + std::to_string(total) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.9g", h.sum());
  out += name + "_sum" + labels + " " + sum + "\n";
  out += name + "_count" + labels + " " + std::to_string(total) + "\n";
}

std::string Metrics::render() const {
  static const char* kTypeNames[] = {" counter\n", " gauge\n", " histogram\n"};
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + " " + fam.help + "\n";
    out += "# TYPE " + name + kTypeNames[static_cast<int>(fam.kind)];
    for (const auto& [labels, c] : fam.counters)
      out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : fam.gauges)
      out += name + labels + " " + std::to_string(g->value()) + "\n";
    for (const auto& [labels, h] : fam.histograms) render_histogram(name, labels, *h, out);
  }
  return out;
}

}  // namespace ezone
