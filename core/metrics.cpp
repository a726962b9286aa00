#include "core/metrics.hpp"

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

}  // namespace

std::string Metrics::label_text(const MetricLabels& labels) const {
  std::string out = "{ezone=\"" + escape_label(ezone_) + "\"";
  for (const auto& [key, value] : labels) out += "," + key + "=\"" + escape_label(value) + "\"";
  return out + "}";
}

Metrics::Family& Metrics::family(const std::string& name, const std::string& help,
                                 bool is_counter) {
  // Metric names are chosen by our code, never by outside input.
  EZONE_ASSERT(valid_name(name), "invalid metric name " + name);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.is_counter = is_counter;
  }
  EZONE_ASSERT(it->second.is_counter == is_counter, "metric kind changed for " + name);
  return it->second;
}

Counter& Metrics::counter(const std::string& name, const std::string& help,
                          const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = family(name, help, true).counters[label_text(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help,
                      const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = family(name, help, false).gauges[label_text(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + " " + fam.help + "\n";
    out += "# TYPE " + name + (fam.is_counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, c] : fam.counters)
      out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : fam.gauges)
      out += name + labels + " " + std::to_string(g->value()) + "\n";
  }
  return out;
}

}  // namespace ezone
