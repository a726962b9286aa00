// The API router: routing, forwarding, holds, fencing and errors, with two
// routers in one process (router_fixture.hpp).
#include "tests/actors/router/router_fixture.hpp"

namespace ezone::router_test {
namespace {

TEST_F(RouterTest, LocalOwnerIsServedLocally) {
  bj_.table.set("geo=39.9,116.4", "bj");
  auto r = order(bj_, "geo=39.9,116.4");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "5");
  EXPECT_EQ(json_of(r)["served_by"], "bj");
  EXPECT_EQ(json_of(r)["hops"], "");
  EXPECT_EQ(bj_.requests("user", "local"), 1u);
  EXPECT_NE(bj_.metrics->render().find(
                "ezone_router_request_duration_seconds_count{ezone=\"bj\",entrance=\"user\",outcome=\"local\"} 1\n"),
            std::string::npos);
}

// HEAD is answered by the path's GET endpoint, locally or at the owner, with
// the GET's Content-Length and no body; a path with no GET has no HEAD.
TEST_F(RouterTest, HeadIsServedByTheGetEndpointWithoutTheBody) {
  bj_.table.set("order=123", "sh");
  sh_.table.set("order=123", "sh");
  for (Site* entry : {&bj_, &sh_}) {
    auto get = http_call(entry->ingress->port(), "GET", "/v1/orders/123");
    ASSERT_EQ(get.status, 200) << get.body;
    auto head = http_call(entry->ingress->port(), "HEAD", "/v1/orders/123");
    EXPECT_EQ(head.status, 200) << entry->ezone;
    EXPECT_EQ(head.body, "") << entry->ezone;
    EXPECT_EQ(head.header("x-ezone"), "sh") << entry->ezone;
    // The handler's answer to the HEAD is the GET's (it echoes the same
    // path and trail): its length, not 0, even through a forward.
    EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size())) << entry->ezone;
  }
  EXPECT_EQ(http_call(bj_.ingress->port(), "HEAD", "/v1/orders/123/accept").status, 405);
  EXPECT_EQ(http_call(bj_.ingress->port(), "HEAD", "/v1/nothing").status, 404);
}

TEST_F(RouterTest, RemoteOwnerServesGeoMerchantAndOrderKeys) {
  for (const char* key : {"geo=31.23,121.47", "merchant=8812", "order=77001"}) {
    bj_.table.set(key, "sh");
    sh_.table.set(key, "sh");
  }
  auto geo = order(bj_, "geo=31.23,121.47");
  EXPECT_EQ(geo.status, 200) << geo.body;
  EXPECT_EQ(geo.header("x-ezone"), "sh");
  EXPECT_EQ(geo.header("x-ezone-epoch"), "5");
  EXPECT_EQ(json_of(geo)["served_by"], "sh");
  EXPECT_EQ(json_of(geo)["hops"], "1");
  EXPECT_EQ(json_of(geo)["via"], "bj@5");
  EXPECT_EQ(json_of(geo)["body"], "{}");

  auto menu = http_call(bj_.ingress->port(), "GET", "/v1/shops/8812/menu");
  EXPECT_EQ(menu.status, 200);
  EXPECT_EQ(menu.header("x-ezone"), "sh");
  auto accept = http_call(bj_.ingress->port(), "POST", "/v1/orders/77001/accept");
  EXPECT_EQ(accept.status, 200);
  EXPECT_EQ(accept.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(accept)["path"], "/v1/orders/77001/accept");

  EXPECT_EQ(bj_.requests("user", "forwarded"), 2u);
  EXPECT_EQ(bj_.requests("merchant", "forwarded"), 1u);
  EXPECT_EQ(sh_.requests("user", "local"), 2u);
  EXPECT_EQ(sh_.requests("merchant", "local"), 1u);
}

TEST_F(RouterTest, KeysFromJsonBodies) {
  bj_.table.set("geo=31.2,121.5", "sh");
  sh_.table.set("geo=31.2,121.5", "sh");
  bj_.table.set("merchant=9", "bj");
  auto rider = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, R"({"lat":31.2,"lon":121.5})");
  EXPECT_EQ(rider.status, 200);
  EXPECT_EQ(rider.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(rider)["body"], R"({"lat":31.2,"lon":121.5})");
  auto profile = http_call(bj_.ingress->port(), "POST", "/v1/merchant/profile", {}, R"({"merchant_id":"9"})");
  EXPECT_EQ(profile.status, 200);
  EXPECT_EQ(profile.header("x-ezone"), "bj");

  auto bad_json = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, "{lat:");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(json_of(bad_json)["reason"], "malformed_key");
  auto bad_lat = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, R"({"lat":95,"lon":1})");
  EXPECT_EQ(bad_lat.status, 400);
  EXPECT_NE(bad_lat.body.find("outside -90..90"), std::string::npos) << bad_lat.body;
  EXPECT_EQ(bj_.rejections("rider", "malformed_key"), 2u);
}

TEST_F(RouterTest, HopLimit) {
  bj_.table.set("merchant=1", "sh");
  sh_.table.set("merchant=1", "sh");
  // Already over the limit when it arrives.
  auto over = order(bj_, "merchant=1", {{"X-Ezone-Hops", "4"}});
  EXPECT_EQ(over.status, 508);
  EXPECT_EQ(json_of(over)["reason"], "hop_limit");
  EXPECT_EQ(over.header("x-ezone"), "bj");
  // At the limit: serving here would be fine, but one more forward is not.
  auto at = order(bj_, "merchant=1", {{"X-Ezone-Hops", "3"}});
  EXPECT_EQ(at.status, 508);
  EXPECT_EQ(bj_.rejections("user", "hop_limit"), 2u);
  EXPECT_EQ(sh_.requests("user", "local"), 0u);
  // Malformed hop counts are a client error, not a loop.
  EXPECT_EQ(order(bj_, "merchant=1", {{"X-Ezone-Hops", "many"}}).status, 400);
  EXPECT_EQ(bj_.rejections("user", "bad_header"), 1u);
}

TEST_F(RouterTest, DisagreeingTablesAtOneEpochAreALoop) {
  bj_.table.set("merchant=2", "sh", 5);
  sh_.table.set("merchant=2", "bj", 5);
  auto r = order(bj_, "merchant=2");
  EXPECT_EQ(r.status, 508);
  EXPECT_EQ(json_of(r)["reason"], "loop");
  EXPECT_EQ(r.header("x-ezone"), "bj");  // bj saw it come back
  EXPECT_EQ(bj_.rejections("user", "loop"), 1u);
  EXPECT_EQ(bj_.requests("user", "forwarded"), 1u);
  EXPECT_EQ(sh_.requests("user", "forwarded"), 1u);
}

TEST_F(RouterTest, NewerEpochReforwardsAndStaleRouterHoldsUntilItCatchesUp) {
  // bj (epoch 5) still thinks sh owns the shard; sh (epoch 6) knows it moved
  // to bj. sh must re-forward rather than serve; bj, now behind the sender,
  // must hold rather than route with its stale table.
  bj_.table.set("merchant=3", "sh", 5);
  sh_.table.set("merchant=3", "bj", 6);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);  // bj catches up to epoch 6
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "6");
  EXPECT_EQ(json_of(r)["via"], "bj@5,sh@6");
  EXPECT_EQ(sh_.requests("user", "forwarded"), 1u);
  EXPECT_EQ(bj_.holds("released"), 1u);
  EXPECT_EQ(bj_.held(), 0);
}

TEST_F(RouterTest, StaleRouterThatNeverCatchesUpAnswers503) {
  bj_.table.set("merchant=4", "sh", 5);
  sh_.table.set("merchant=4", "bj", 6);
  auto started = Steady::now();
  auto r = order(bj_, "merchant=4");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_of(r)["reason"], "stale_epoch");
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_GE(ms_since(started), 390);
  EXPECT_EQ(bj_.rejections("user", "stale_epoch"), 1u);
  EXPECT_EQ(bj_.holds("expired"), 1u);
}

TEST_F(RouterTest, AForwardedKeyTheOwnerHasNotLearntYetIsHeldUntilItHas) {
  // A merchant update reached bj but not yet sh (its etcd watch lags): bj
  // forwards to sh, which must not answer 404 for a key bj resolved.
  bj_.table.set("merchant=21", "sh");
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=21"); });
  ASSERT_TRUE(eventually([&] { return sh_.held() == 1; }));
  sh_.table.set("merchant=21", "sh");
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(sh_.holds("released"), 1u);

  // One it never learns is a 404 after the hold, naming why it waited.
  bj_.table.set("merchant=22", "sh");
  auto started = Steady::now();
  auto never = order(bj_, "merchant=22");
  EXPECT_EQ(never.status, 404) << never.body;
  EXPECT_EQ(json_of(never)["reason"], "unknown_key");
  EXPECT_NE(json_of(never)["error"].get<std::string>().find("the forwarding router knows it"), std::string::npos)
      << never.body;
  EXPECT_GE(ms_since(started), 390);
  EXPECT_EQ(sh_.holds("expired"), 1u);
  EXPECT_EQ(sh_.rejections("user", "unknown_key"), 1u);
}

TEST_F(RouterTest, WriteForbiddenShardGets503WithRetryAfter) {
  bj_.table.set("order=5", "bj", 7, /*write_forbidden=*/true);
  auto started = Steady::now();
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/5/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(r.header("x-ezone-epoch"), "7");
  EXPECT_EQ(json_of(r)["reason"], "write_forbidden");
  EXPECT_EQ(json_of(r)["key"], "order=5");
  EXPECT_GE(ms_since(started), 390);  // held for hold_ms first
  EXPECT_EQ(bj_.rejections("merchant", "write_forbidden"), 1u);
  // Reads of a moving shard are still served.
  EXPECT_EQ(http_call(bj_.ingress->port(), "GET", "/v1/orders/5").status, 200);
}

TEST_F(RouterTest, AFencedZoneRefusesWritesToItsShardsAtTheRouter) {
  bj_.table.set("order=9", "bj");
  bj_.fenced = true;
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(json_of(r)["reason"], "fenced");
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("ezone bj is fenced: its lease was not renewed"),
            std::string::npos) << r.body;
  EXPECT_EQ(bj_.rejections("merchant", "fenced"), 1u);
  EXPECT_EQ(http_call(bj_.ingress->port(), "GET", "/v1/orders/9").status, 200);  // reads go on
  bj_.fenced = false;
  EXPECT_EQ(http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept").status, 200);
}

TEST_F(RouterTest, AnIsolatedZoneAnswersEveryRequest503AndForwardsNothing) {
  bj_.table.set("order=9", "bj");
  bj_.table.set("order=8", "sh");
  sh_.table.set("order=8", "sh");
  sh_.table.set("order=9", "bj");
  bj_.fault->isolate(60000);
  for (auto [method, target] : {std::pair{"POST", "/v1/orders/9/accept"}, std::pair{"GET", "/v1/orders/9"},
                                std::pair{"POST", "/v1/orders/8/accept"}, std::pair{"GET", "/internal/ping"}}) {
    auto r = http_call(bj_.ingress->port(), method, target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(r.header("retry-after"), "2");
    EXPECT_EQ(json_of(r)["reason"], "isolated") << r.body;
  }
  EXPECT_EQ(sh_.requests("merchant", "local"), 0u);  // order=8 was not forwarded out
  // A peer's forward into the isolated zone is refused too (the answer
  // comes back through sh, which forwarded it).
  auto in = http_call(sh_.ingress->port(), "POST", "/v1/orders/9/accept");
  EXPECT_EQ(in.status, 503);
  EXPECT_EQ(json_of(in)["reason"], "isolated") << in.body;
  EXPECT_EQ(bj_.rejections("merchant", "isolated"), 3u);
  EXPECT_EQ(bj_.requests("merchant", "local") + bj_.requests("merchant", "forwarded"), 0u);

  bj_.fault->heal();
  EXPECT_EQ(http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept").status, 200);
  auto out = http_call(bj_.ingress->port(), "POST", "/v1/orders/8/accept");
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.header("x-ezone"), "sh");
}

TEST_F(RouterTest, ARequestHeldWhenTheZoneIsIsolatedIsNotServed) {
  bj_.table.set("order=5", "bj", 7, /*write_forbidden=*/true);
  std::thread isolate([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    bj_.fault->isolate(60000);
    bj_.table.set("order=5", "bj", 8);  // writable again, but the zone is dark now
  });
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/5/accept");
  isolate.join();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_of(r)["reason"], "isolated") << r.body;
  EXPECT_EQ(bj_.requests("merchant", "local"), 0u);
}

TEST_F(RouterTest, WriteForbiddenRemoteShardIsAnsweredAtTheEntrance) {
  bj_.table.set("order=6", "sh", 7, true);
  sh_.table.set("order=6", "sh", 7, true);
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/6/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(sh_.requests("merchant", "local") + sh_.requests("merchant", "rejected"), 0u);
}

TEST_F(RouterTest, HeldWriteIsServedWhenTheShardBecomesWritable) {
  bj_.table.set("order=8", "sh", 7, true);
  sh_.table.set("order=8", "sh", 8);
  auto answer = std::async(std::launch::async, [&] { return http_call(bj_.ingress->port(), "POST", "/v1/orders/8/accept"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("order=8", "sh", 8);  // the switchover committed
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(r.header("x-ezone-epoch"), "8");
  EXPECT_EQ(bj_.holds("released"), 1u);
}

TEST_F(RouterTest, ClientErrorsAreClearJson) {
  bj_.table.fail("merchant=13", Errc::invalid_argument);
  bj_.table.fail("merchant=14", Errc::unavailable);
  auto unknown = order(bj_, "geo=0,0");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json_of(unknown)["reason"], "unknown_key");
  EXPECT_EQ(json_of(unknown)["key"], "geo=0.000000,0.000000");
  EXPECT_NE(json_of(unknown)["error"].get<std::string>().find("no fence"), std::string::npos);

  auto malformed = order(bj_, "geo=91,0");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(json_of(malformed)["reason"], "malformed_key");
  EXPECT_NE(json_of(malformed)["error"].get<std::string>().find("latitude"), std::string::npos);
  EXPECT_EQ(order(bj_, "shoe=1").status, 400);

  auto missing = http_call(bj_.ingress->port(), "POST", "/v1/orders");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json_of(missing)["reason"], "missing_key");

  EXPECT_EQ(order(bj_, "merchant=13").status, 400);
  auto unavailable = order(bj_, "merchant=14");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.header("retry-after"), "2");

  auto no_endpoint = http_call(bj_.ingress->port(), "GET", "/v2/nothing");
  EXPECT_EQ(no_endpoint.status, 404);
  EXPECT_EQ(json_of(no_endpoint)["reason"], "no_endpoint");
  EXPECT_EQ(no_endpoint.header("x-ezone"), "bj");
  EXPECT_FALSE(no_endpoint.header("x-ezone-epoch").empty());
  EXPECT_EQ(http_call(bj_.ingress->port(), "DELETE", "/v1/orders").status, 405);
  auto bad_id = http_call(bj_.ingress->port(), "GET", "/v1/orders/12ab");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(bad_id.body.find("path parameter {id}"), std::string::npos) << bad_id.body;

  EXPECT_EQ(bj_.rejections("user", "unknown_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "malformed_key"), 3u);
  EXPECT_EQ(bj_.rejections("user", "missing_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "unresolvable_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "unavailable"), 1u);
  EXPECT_EQ(bj_.rejections("none", "no_endpoint"), 1u);
  EXPECT_EQ(bj_.rejections("none", "method_not_allowed"), 1u);
}

TEST_F(RouterTest, UnshardedEndpointIsAlwaysLocal) {
  auto r = http_call(bj_.ingress->port(), "GET", "/internal/ping");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_of(r)["served_by"], "bj");
  EXPECT_EQ(bj_.requests("internal", "local"), 1u);
}

TEST_F(RouterTest, OwnerRouterDownGets502Quickly) {
  bj_.table.site("cd", {"127.0.0.1", test::free_loopback_port()});
  bj_.table.set("merchant=20", "cd");
  auto started = Steady::now();
  auto r = order(bj_, "merchant=20");
  EXPECT_EQ(r.status, 502);
  EXPECT_LT(ms_since(started), 1000);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "5");
}

TEST_F(RouterTest, OwnerRouterSilentGets504AfterTheTimeout) {
  auto silent = test::FakeHttpServer::start([](test::FakeConnection& c) {
    c.read_request();
    c.wait_for_stop(10000);
  });
  ASSERT_TRUE(silent.ok());
  bj_.table.site("cd", (*silent)->endpoint());
  bj_.table.set("merchant=21", "cd");
  auto started = Steady::now();
  auto r = order(bj_, "merchant=21");
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(ms_since(started), 1490);
  EXPECT_EQ(order(bj_, "geo=1,1").status, 404);  // and bj keeps serving
}

TEST_F(RouterTest, ForwardingReusesConnections) {
  bj_.table.set("merchant=30", "sh");
  sh_.table.set("merchant=30", "sh");
  test::RawConnection client(bj_.ingress->port());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client.send(test::raw_request("POST", "/v1/orders", {{"X-Ezone-Key", "merchant=30"}}, "{}")));
    ASSERT_EQ(client.read_response().status, 200);
  }
  auto opened = bj_.metrics->counter("ezone_forwarder_connections_opened_total", "", {{"forwarder", "router"}}).value();
  EXPECT_EQ(opened, 1u);
}

TEST_F(RouterTest, MalformedRequestsDoNotStopRouting) {
  bj_.table.set("merchant=31", "sh");
  sh_.table.set("merchant=31", "sh");
  {
    test::RawConnection c(bj_.ingress->port());
    c.send("POST /v1/orders HTTP/1.1\r\nX-Ezone-Key merchant=31\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 400);
  }
  {
    test::RawConnection c(bj_.ingress->port());
    c.send("POST /v1/orders HTTP/1.1\r\nContent-Length: 50\r\n\r\nshort");
    c.shutdown_send();
    EXPECT_TRUE(c.wait_closed(2000));
  }
  EXPECT_EQ(order(bj_, "merchant=31").header("x-ezone"), "sh");
}

}  // namespace
}  // namespace ezone::router_test
