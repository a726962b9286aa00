// The etcd gateway's wire format, without a server: what etcd 3.4 really
// sends (captured answers), what it omits, and what a broken peer might send.
#include "storage/etcd/etcd_json.hpp"

#include <gtest/gtest.h>

namespace ezone::meta::etcd {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 17) {
    auto decoded = base64_decode(base64_encode(bytes.substr(0, n)));
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, bytes.substr(0, n));
  }
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_EQ(base64_decode("YQ=").status().code(), Errc::parse_error);
  EXPECT_EQ(base64_decode("Y*==").status().code(), Errc::parse_error);
  EXPECT_EQ(base64_decode("YQ==YQ==").status().code(), Errc::parse_error);  // padding inside
}

TEST(PrefixRangeEnd, IncrementsLastByteBelowFF) {
  EXPECT_EQ(prefix_range_end("abc"), "abd");
  EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_range_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(EtcdJson, ParsesRangeAnswerWithStringInt64s) {
  auto result = parse_range_response(
      R"({"header":{"cluster_id":"15118495548433857066","revision":"2","raft_term":"2"},)"
      R"("kvs":[{"key":"YQ==","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}],"count":"1"})");
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->revision, 2);
  ASSERT_EQ(result->kvs.size(), 1u);
  EXPECT_EQ(result->kvs[0].key, "a");
  EXPECT_EQ(result->kvs[0].value, "1");
  EXPECT_EQ(result->kvs[0].version, 1);
  EXPECT_EQ(result->kvs[0].lease, 0);  // omitted = 0
}

TEST(EtcdJson, MissingFieldsMeanZero) {
  auto result = parse_range_response(R"({"header":{}})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->revision, 0);
  EXPECT_TRUE(result->kvs.empty());
  auto txn = parse_txn_response(R"({"header":{"revision":"3"}})");
  ASSERT_TRUE(txn.ok());
  EXPECT_FALSE(txn->succeeded);
}

TEST(EtcdJson, MalformedAnswersAreParseErrorsNotCrashes) {
  for (const char* body : {"", "not json", "[]", "{\"header\":5}", "{\"kvs\":{}}",
                           "{\"kvs\":[{\"key\":\"***\"}]}", "{\"header\":{\"revision\":\"x1\"}}",
                           "{\"header\":{\"revision\":true}}", "{\"kvs\":[7]}"}) {
    auto result = parse_range_response(body);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.status().code(), Errc::parse_error) << body;
  }
  EXPECT_EQ(parse_watch_message("{\"result\":{\"events\":[{\"type\":\"BOOM\"}]}}").status().code(),
            Errc::parse_error);
  EXPECT_EQ(parse_keepalive_response("{", 1).status().code(), Errc::parse_error);
}

TEST(EtcdJson, TxnAnswerCarriesComparedKeysFromRanges) {
  auto result = parse_txn_response(
      R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"3"}}},)"
      R"({"response_range":{"header":{"revision":"3"},"kvs":[{"key":"YQ==","create_revision":"2","mod_revision":"3","version":"2","value":"Mg=="}],"count":"1"}}]})");
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_TRUE(result->succeeded);
  EXPECT_EQ(result->revision, 3);
  ASSERT_EQ(result->current.size(), 1u);
  EXPECT_EQ(result->current[0].value, "2");
}

TEST(EtcdJson, TxnRequestAddsOneRangePerComparedKey) {
  TxnRequest request;
  request.compares.push_back({"k", Compare::Target::mod_revision, 0, {}});
  request.compares.push_back({"k", Compare::Target::version, 0, {}});
  request.success.push_back({Op::Kind::put, "k", "v", 7});
  std::string body = txn_request(request);
  EXPECT_NE(body.find("\"target\":\"MOD\""), std::string::npos);
  EXPECT_NE(body.find("\"mod_revision\":\"0\""), std::string::npos);
  EXPECT_NE(body.find("\"lease\":\"7\""), std::string::npos);
  size_t ranges = 0;
  for (size_t at = 0; (at = body.find("request_range", at)) != std::string::npos; ++at) ++ranges;
  EXPECT_EQ(ranges, 2u);  // one per branch, the duplicate compare folded
}

TEST(EtcdJson, KeepaliveWithoutTtlMeansLeaseGone) {
  auto gone = parse_keepalive_response(R"({"result":{"header":{"revision":"2"},"ID":"1"}})", 1);
  EXPECT_EQ(gone.status().code(), Errc::not_found);
  auto alive = parse_keepalive_response(R"({"result":{"ID":"1","TTL":"5"}})" "\n", 1);
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 5);
}

TEST(EtcdJson, TimeToLiveOfMinusOneMeansLeaseGone) {
  auto gone = parse_time_to_live_response(R"({"header":{"revision":"2"},"ID":"1","TTL":"-1"})", 1);
  EXPECT_EQ(gone.status().code(), Errc::not_found);
  auto alive = parse_time_to_live_response(R"({"header":{},"ID":"1","TTL":"7","grantedTTL":"10"})", 1);
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 7);
  // The gateway leaves a zero TTL out: under a second left, still alive.
  auto last_second = parse_time_to_live_response(R"({"ID":"1","grantedTTL":"10"})", 1);
  ASSERT_TRUE(last_second.ok());
  EXPECT_EQ(*last_second, 0);
  EXPECT_EQ(parse_time_to_live_response("{", 1).status().code(), Errc::parse_error);
  EXPECT_EQ(parse_time_to_live_response(R"({"TTL":"soon"})", 1).status().code(), Errc::parse_error);
}

TEST(EtcdJson, ErrorAnswersMapGrpcCodes) {
  EXPECT_EQ(error_from_response(404, R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})").code(),
            Errc::not_found);
  EXPECT_EQ(error_from_response(400, R"({"error":"unexpected EOF","message":"unexpected EOF","code":3})").code(),
            Errc::invalid_argument);
  EXPECT_EQ(error_from_response(503, R"({"error":"etcdserver: no leader","code":14})").code(),
            Errc::unavailable);
  EXPECT_EQ(error_from_response(502, "<html>bad gateway</html>").code(), Errc::unavailable);
  Status lease = error_from_response(404, R"({"message":"etcdserver: requested lease not found","code":5})");
  EXPECT_NE(lease.message().find("lease not found"), std::string::npos);
}

TEST(EtcdJson, WatchMessages) {
  auto created = parse_watch_message(R"({"result":{"header":{"revision":"7"},"created":true}})");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->header_revision, 7);
  auto events = parse_watch_message(
      R"({"result":{"header":{"revision":"8"},"events":[{"kv":{"key":"YQ==","create_revision":"7","mod_revision":"8","version":"2","value":"Mw=="}},{"type":"DELETE","kv":{"key":"YQ==","mod_revision":"9"}}]}})");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, WatchEvent::Type::put);
  EXPECT_EQ(events->events[1].type, WatchEvent::Type::del);
  EXPECT_EQ(events->events[1].kv.mod_revision, 9);
  auto compacted = parse_watch_message(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"5"}})");
  ASSERT_TRUE(compacted.ok());
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 5);
  auto error = parse_watch_message(R"({"error":{"grpc_code":14,"http_code":503,"message":"no leader"}})");
  ASSERT_TRUE(error.ok());
  ASSERT_TRUE(error->error.has_value());
  EXPECT_EQ(error->error->code(), Errc::unavailable);
}

TEST(EtcdJson, PrefixOfEmptyKeyCoversEverything) {
  std::string body = range_request("", true);
  EXPECT_NE(body.find("\"key\":\"AA==\""), std::string::npos);
  EXPECT_NE(body.find("\"range_end\":\"AA==\""), std::string::npos);
}

}  // namespace
}  // namespace ezone::meta::etcd
