#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace ezone {

TEST(Metrics, RendersPrometheusTextWithEzoneLabel) {
  Metrics m("bj");
  m.counter("ezone_test_total", "A test counter", {{"reason", "a\"b"}}).inc(3);
  m.gauge("ezone_test_gauge", "A test gauge").set(-2);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE ezone_test_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_total{ezone=\"bj\",reason=\"a\\\"b\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE ezone_test_gauge gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ezone_test_gauge{ezone=\"bj\"} -2\n"), std::string::npos) << text;
}

TEST(Metrics, SameSeriesIsSameCounter) {
  Metrics m("sh");
  Counter& a = m.counter("ezone_x_total", "x", {{"k", "v"}});
  Counter& b = m.counter("ezone_x_total", "x", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  Counter& c = m.counter("ezone_x_total", "x", {{"k", "w"}});
  EXPECT_NE(&a, &c);
}

}  // namespace ezone
