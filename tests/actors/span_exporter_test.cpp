// The OTLP span exporter against a collector on loopback that records
// what it is sent: the document's shape, batching, what is dropped (and
// counted) when the collector refuses or is gone, and a node whose
// [tracing] names the collector exporting its spans (the router's, and
// under them the DAL's).
#include "actors/node/span_exporter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "actors/gzs/gzs.hpp"
#include "actors/http/http_server.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/dal_node_fixture.hpp"
#include "tests/actors/loopback_server.hpp"
#include "tests/actors/otlp_collector.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/ports.hpp"

namespace ezone {
namespace {

using nlohmann::json;
using test::attr;
using test::Collector;

RouterSpan routed(int i, int status = 200) {
  RouterSpan s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b" + std::to_string(i % 10);
  s.parent_id = i == 0 ? "" : "00f067aa0ba90200";
  s.ezone = "bj";
  s.name = "POST /v1/orders/{id}/accept";
  s.outcome = status >= 500 ? "rejected" : "forwarded";
  s.reason = status >= 500 ? "fenced" : "";
  s.forwarded_to = status >= 500 ? "" : "sh";
  s.status = status;
  s.duration_us = 1500;
  return s;
}

// The router's span as the node reports it, ending now.
Span span(int i, int status = 200) { return router_span(routed(i, status), unix_ns_now()); }

TracingSettings settings_for(const Collector& c) {
  TracingSettings t;
  t.otlp_endpoint = c.address();
  t.flush_interval_ms = 50;
  t.export_timeout_ms = 1000;
  return t;
}

TEST(SpanExporter, TheDocumentIsOtlpJson) {
  const Span a = router_span(routed(0), 1'001'500'000);
  const Span b = router_span(routed(1, 503), 2'001'500'000);
  json doc = json::parse(otlp_traces_json("bj", {a, b}));
  const json& rs = doc["resourceSpans"][0];
  std::map<std::string, std::string> resource;
  for (const json& x : rs["resource"]["attributes"]) resource[x["key"]] = x["value"]["stringValue"];
  EXPECT_EQ(resource["service.name"], "ezone");
  EXPECT_EQ(resource["service.instance.id"], "ezoned-bj");
  EXPECT_EQ(resource["ezone"], "bj");
  EXPECT_EQ(rs["scopeSpans"][0]["scope"]["name"], "ezone.router");
  const json& spans = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(spans[0]["spanId"], "00f067aa0ba902b0");
  EXPECT_FALSE(spans[0].contains("parentSpanId")) << "a root span has no parent";
  EXPECT_EQ(spans[1]["parentSpanId"], "00f067aa0ba90200");
  EXPECT_EQ(spans[0]["kind"], 2);
  EXPECT_EQ(spans[0]["name"], "POST /v1/orders/{id}/accept");
  EXPECT_EQ(spans[0]["startTimeUnixNano"], "1000000000") << "64-bit integers are strings in OTLP/JSON";
  EXPECT_EQ(spans[0]["endTimeUnixNano"], "1001500000");
  EXPECT_EQ(attr(spans[0], "http.response.status_code"), "200");
  EXPECT_EQ(attr(spans[0], "ezone.outcome"), "forwarded");
  EXPECT_EQ(attr(spans[0], "ezone.forwarded_to"), "sh");
  EXPECT_EQ(attr(spans[0], "ezone.reason"), "<absent>");
  EXPECT_FALSE(spans[0].contains("status"));
  EXPECT_EQ(spans[1]["status"]["code"], 2) << "a 5xx is an error";
  EXPECT_EQ(spans[1]["status"]["message"], "fenced");
  EXPECT_EQ(attr(spans[1], "ezone.reason"), "fenced");
}

TEST(SpanExporter, EachScopeHasItsOwnListAndAttributesKeepTheirType) {
  Span dal;
  dal.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  dal.span_id = "00f067aa0ba902c1";
  dal.parent_id = "00f067aa0ba902b0";
  dal.ezone = "bj";
  dal.name = "dal.tx";
  dal.scope = "ezone.dal";
  dal.kind = SpanKind::internal;
  dal.start_unix_ns = 1'000'100'000;
  dal.end_unix_ns = 1'000'900'000;
  dal.set("ezone.dal.rows", int64_t{3});
  dal.set("ezone.dal.refusal", "wrong_zone");
  dal.error = "shard 31 is owned by ezone 'sh'";
  json doc = json::parse(otlp_traces_json("bj", {router_span(routed(0), 1'001'500'000), dal,
                                                 router_span(routed(2), 1'002'000'000)}));
  const json& scopes = doc["resourceSpans"][0]["scopeSpans"];
  ASSERT_EQ(scopes.size(), 2u);
  EXPECT_EQ(scopes[0]["scope"]["name"], "ezone.router");
  EXPECT_EQ(scopes[0]["spans"].size(), 2u);
  EXPECT_EQ(scopes[1]["scope"]["name"], "ezone.dal");
  ASSERT_EQ(scopes[1]["spans"].size(), 1u);
  const json& d = scopes[1]["spans"][0];
  EXPECT_EQ(d["kind"], 1) << "SPAN_KIND_INTERNAL";
  EXPECT_EQ(d["parentSpanId"], "00f067aa0ba902b0");
  EXPECT_EQ(d["status"]["code"], 2);
  EXPECT_EQ(d["status"]["message"], "shard 31 is owned by ezone 'sh'");
  for (const json& a : d["attributes"]) {
    if (a["key"] == "ezone.dal.rows") {
      EXPECT_EQ(a["value"]["intValue"], "3");
    } else if (a["key"] == "ezone.dal.refusal") {
      EXPECT_EQ(a["value"]["stringValue"], "wrong_zone");
    }
  }
  EXPECT_EQ(attr(d, "ezone"), "bj");
}

TEST(SpanExporter, SpansLeaveInBatchesAndEveryOneArrives) {
  Collector collector;
  Metrics metrics("bj");
  TracingSettings t = settings_for(collector);
  t.batch_max = 4;
  SpanExporter exporter("bj", t, metrics, nullptr);
  for (int i = 0; i < 10; ++i) exporter.add(span(i));
  ASSERT_TRUE(test::eventually([&] { return collector.spans().size() == 10; }));
  EXPECT_GE(collector.request_count(), 3u) << "at most batch_max spans per request";
  for (const json& s : collector.spans()) {
    const int64_t start = std::stoll(s["startTimeUnixNano"].get<std::string>());
    const int64_t end = std::stoll(s["endTimeUnixNano"].get<std::string>());
    EXPECT_EQ(end - start, 1'500'000) << "the span's duration";
    EXPECT_GT(start, 1'700'000'000'000'000'000) << "wall-clock time";
  }
  // A span left waiting is sent by stop().
  TracingSettings slow = t;
  slow.flush_interval_ms = 60000;
  SpanExporter lazy("bj", slow, metrics, nullptr);
  lazy.add(span(1));
  lazy.stop();
  EXPECT_EQ(collector.spans().size(), 11u);
  EXPECT_EQ(metrics.counter("ezone_trace_spans_exported_total", "").value(), 11u);
}

TEST(SpanExporter, WhatCannotBeSentIsDroppedAndCountedAndNothingWaitsOnIt) {
  Metrics metrics("bj");
  auto dropped = [&](const char* reason) {
    return metrics.counter("ezone_trace_spans_dropped_total", "", {{"reason", reason}}).value();
  };
  {
    // A collector that refuses.
    Collector refusing;
    refusing.status = 500;
    SpanExporter exporter("bj", settings_for(refusing), metrics, nullptr);
    for (int i = 0; i < 3; ++i) exporter.add(span(i));
    ASSERT_TRUE(test::eventually([&] { return dropped("export_failed") == 3; }));
    EXPECT_GE(metrics.counter("ezone_trace_export_errors_total", "").value(), 1u);
    // It recovers: the next spans arrive.
    refusing.status = 200;
    exporter.add(span(4));
    ASSERT_TRUE(test::eventually([&] { return metrics.counter("ezone_trace_spans_exported_total", "").value() == 1; }));
  }
  // A collector that takes the connection and never answers, and a small
  // queue: while the first batch waits out its timeout, the queue holds
  // queue_max spans and every further one is dropped at once; stop() then
  // waits on the collector once, not for each batch.
  auto silent = test::FakeHttpServer::start([](test::FakeConnection& c) { c.wait_for_stop(60000); });
  ASSERT_TRUE(silent.ok()) << silent.status().to_string();
  TracingSettings hung;
  hung.otlp_endpoint = (*silent)->endpoint();
  hung.flush_interval_ms = 60000;
  hung.export_timeout_ms = 1000;
  hung.batch_max = 2;
  hung.queue_max = 4;
  const uint64_t failed_before = dropped("export_failed");
  SpanExporter exporter("bj", hung, metrics, nullptr);
  for (int i = 0; i < 1000; ++i) exporter.add(span(i));
  const uint64_t full = dropped("queue_full");
  EXPECT_GE(full, 1000u - 6) << "a batch in flight and queue_max waiting; the rest dropped";
  exporter.stop();
  EXPECT_EQ((*silent)->connections(), 1u) << "one export was tried; the stop dropped the rest without trying";
  EXPECT_EQ(full + dropped("export_failed") - failed_before, 1000u) << "every span is exported or counted";
  exporter.add(span(1));
  EXPECT_EQ(dropped("queue_full"), full + 1) << "after stop a span is dropped";
}

TEST(SpanSink, SpansAreLoggedAndExportedAsTheSettingsSay) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  TracingSettings t;
  auto sink = make_span_sink(t, logger, nullptr);
  ASSERT_TRUE(sink);
  sink(span(1, 503));
  EXPECT_NE(out.str().find("event=span trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b1 "
                           "parent_id=00f067aa0ba90200 ezone=bj name=\"POST /v1/orders/{id}/accept\" kind=server "
                           "duration_us=1500 error=fenced ezone.outcome=rejected ezone.reason=fenced "
                           "http.response.status_code=503"),
            std::string::npos)
      << out.str();
  Span quoted = span(2);
  quoted.error = "the instance said \"no\"\nagain";
  sink(quoted);
  EXPECT_NE(out.str().find(" error=\"the instance said 'no' again\" "), std::string::npos)
      << "quoted, on one line: " << out.str();
  t.log_spans = false;
  EXPECT_FALSE(make_span_sink(t, logger, nullptr)) << "nothing to do: no sink at all";
  Collector collector;
  Metrics metrics("bj");
  SpanExporter exporter("bj", settings_for(collector), metrics, nullptr);
  const size_t logged = out.str().size();
  auto export_only = make_span_sink(t, logger, &exporter);
  export_only(span(2));
  ASSERT_TRUE(test::eventually([&] { return collector.spans().size() == 1; }));
  EXPECT_EQ(out.str().size(), logged) << "log_spans = false logs nothing";
}

class TracingNodeTest : public test::TwoNodeTest {};

TEST_F(TracingNodeTest, ANodeExportsItsRoutersSpansToTheCollectorItNames) {
  Collector collector;
  configure = [&](NodeConfig& c) {
    c.tracing.otlp_endpoint = collector.address();
    c.tracing.flush_interval_ms = 50;
  };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  net::HttpRequest r;
  r.target = "/ezone/v1/probe";
  r.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
               {"X-Ezone-Key", "ezone=bj"}};
  net::HttpConnection conn({"127.0.0.1", bj_ports_.http});
  auto answer = conn.request(r, 3000);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  ASSERT_TRUE(test::eventually([&] { return collector.spans().size() == 1; }));
  json s = collector.spans()[0];
  EXPECT_EQ(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(attr(s, "ezone"), "bj");
  EXPECT_EQ(attr(s, "http.response.status_code"), std::to_string(answer->status));
  // An unsampled request makes no span.
  r.headers[0].second = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
  ASSERT_TRUE(conn.request(r, 3000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(collector.spans().size(), 1u);
  (*bj)->stop();
}

// A traced write through POST /dal/v1/tx: the router's span and, under
// it, the DAL's, both exported; the DAL's says what it wrote.
class TracedDalNodeTest : public test::DalNodeTest {};

TEST_F(TracedDalNodeTest, ADalTransactionIsASpanUnderTheRoutersSpan) {
  Collector collector;
  configure = [dal = configure, &collector](NodeConfig& c) {
    dal(c);
    c.tracing.otlp_endpoint = collector.address();
    c.tracing.flush_interval_ms = 50;
  };
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(1, 1, epoch)));  // untraced: no span
  net::HttpRequest req;
  req.method = "POST";
  req.target = "/dal/v1/tx";
  req.body = insert_order(2, 1, epoch).dump();
  req.content_type = "application/json";
  req.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  auto answer = net::HttpConnection({"127.0.0.1", bj_ports_.http}).request(req, 5000);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  ASSERT_EQ(answer->status, 200) << answer->body;
  ASSERT_TRUE(test::eventually([&] { return collector.spans().size() == 2; })) << collector.spans().size();
  json router, dal;
  for (const json& s : collector.spans()) (s["scope"] == "ezone.dal" ? dal : router) = s;
  ASSERT_TRUE(router.is_object() && dal.is_object());
  EXPECT_EQ(router["scope"], "ezone.router");
  EXPECT_EQ(router["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(dal["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(dal["parentSpanId"], router["spanId"]) << "the DAL's span is the router's child";
  EXPECT_EQ(dal["name"], "dal.tx");
  EXPECT_EQ(dal["kind"], 1);
  EXPECT_EQ(attr(dal, "ezone"), "bj");
  EXPECT_EQ(attr(dal, "ezone.shard"), "1");
  EXPECT_EQ(attr(dal, "ezone.dal.rows"), "1");
  EXPECT_EQ(attr(dal, "ezone.dal.outbox_seq"), std::to_string(json::parse(answer->body)["outbox_seq"].get<int64_t>()));
  EXPECT_NE(attr(dal, "ezone.dal.commit_us"), "<absent>");
  EXPECT_FALSE(dal.contains("status"));
  // The DAL's span lies within the router's. The router's start is its end
  // less its duration, and its end is read a moment after the answer: 1 ms
  // of slack for that moment.
  auto ns = [](const json& s, const char* k) { return std::stoll(s[k].get<std::string>()); };
  EXPECT_GE(ns(dal, "startTimeUnixNano") + 1'000'000, ns(router, "startTimeUnixNano"));
  EXPECT_LE(ns(dal, "endTimeUnixNano"), ns(router, "endTimeUnixNano"));
  (*bj)->stop();
}

}  // namespace
}  // namespace ezone
