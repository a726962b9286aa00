#include "zones/geo/fence_index.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "boost_reference.hpp"
#include "geo_test_support.hpp"
#include "sample_points.hpp"
#include "zones/geo/geo_fences.hpp"
#include "zones/geo/geojson_loader.hpp"

namespace ezone::geo {
namespace {

using testing::RuleLocator;

FenceSet hand_made() {
  Result<ShardConfig> shards = load_shard_config(testing::kTestShards);
  EXPECT_TRUE(shards) << shards.status().to_string();
  Result<FenceSet> set = load_fences(testing::kGoodFences, *shards, nullptr);
  EXPECT_TRUE(set) << set.status().to_string();
  return set ? std::move(*set) : FenceSet{};
}

// Options that split down to tiny cells, so even the hand-made fences
// exercise every node kind and every level.
FenceIndexOptions deep_options() {
  FenceIndexOptions o;
  o.leaf_edges_max = 1;
  o.min_cell_bits = 4;
  o.root_cells_max = 16;
  return o;
}

std::string name_at(const FenceSet& set, const FenceIndex& index, double lat, double lon) {
  std::optional<FenceHit> hit = index.lookup(lat, lon);
  return hit ? set.fence(hit->fence).name : "-";
}

struct Expect {
  double lon, lat;
  const char* fence;  // "-" for none
  const char* why;
};

// The documented rules on the hand-made fences. The edge rule: a point on
// an edge belongs to the side on its right (above, for horizontal edges).
const Expect kExpected[] = {
    {1, 1, "a_square", "interior"},
    {0, 1, "a_square", "left edge is in"},
    {1, 0, "a_square", "bottom edge is in"},
    {0, 0, "a_square", "bottom-left corner is in"},
    {1, 2, "-", "top edge is out"},
    {0, 2, "-", "top-left corner is out"},
    {2, 1, "b_square", "shared edge x=2 belongs to the fence on its right"},
    {2, 0, "b_square", "shared bottom corner: b's bottom-left"},
    {2, 2, "-", "shared top corner: top edges are out"},
    {4, 1, "-", "right edge is out"},
    {3, 1, "b_square", "interior"},
    {5.5, 2, "c_donut", "between outer ring and hole"},
    {5, 2, "c_donut", "outer left edge"},
    {9, 2, "-", "outer right edge"},
    {6.2, 2, "-", "in the hole"},
    {6, 2, "-", "hole's left edge: the hole is on its right"},
    {8, 2, "c_donut", "hole's right edge: the donut is on its right"},
    {7, 1, "-", "hole's bottom edge: the hole is above"},
    {7, 3, "c_donut", "hole's top edge: the donut is above"},
    {7, 2, "d_island", "island inside the hole"},
    {6.5, 2, "d_island", "island's left edge"},
    {7.5, 2, "-", "island's right edge: the hole is on its right"},
    {0.5, 5.5, "e_islands", "first polygon"},
    {1.5, 5.5, "-", "between the polygons"},
    {2.1, 5.1, "e_islands", "second polygon"},
    {2.5, 5.5, "-", "second polygon's hole"},
    {2.25, 5.5, "-", "hole's left edge"},
    {2.75, 5.5, "e_islands", "hole's right edge"},
    {1, 9, "overlap_f_low", "only f"},
    {4, 9, "overlap_g_high", "only g"},
    {2.5, 9, "overlap_f_low", "overlap: the lower id wins"},
    {2, 9, "overlap_f_low", "on g's left edge, inside f: f has the lower id"},
    {3, 9, "overlap_g_high", "on f's right edge, inside g"},
    {1, 13, "h_triangle", "interior"},
    {2, 14, "-", "on the slanted edge x+y=16: the outside is on its right"},
    {3, 13, "-", "on the slanted edge"},
    {0, 14, "h_triangle", "left edge"},
    {2, 12, "h_triangle", "bottom edge"},
    {0, 16, "-", "top vertex"},
    {4, 12, "-", "bottom-right vertex"},
    {0, 12, "h_triangle", "bottom-left vertex"},
    {11, 1, "i_repaired", "repaired fence"},
    {14, 0.5, "-", "its dropped collinear polygon"},
    {50, 50, "-", "far away"},
};

}  // namespace

TEST(FenceIndex, HandMadeFencesFollowTheDocumentedRules) {
  FenceSet set = hand_made();
  RuleLocator rules(set);
  for (const FenceIndexOptions& options : {FenceIndexOptions{}, deep_options()}) {
    Result<FenceIndex> index = FenceIndex::build(set, options);
    ASSERT_TRUE(index) << index.status().to_string();
    for (const Expect& e : kExpected) {
      EXPECT_EQ(name_at(set, *index, e.lat, e.lon), e.fence) << "(" << e.lon << ", " << e.lat << "): " << e.why;
      std::optional<FenceId> brute = rules.locate(*to_grid(e.lat, e.lon));
      EXPECT_EQ(brute ? set.fence(*brute).name : "-", e.fence) << "brute force, " << e.why;
    }
  }
}

TEST(FenceIndex, HitsCarryTheFenceShard) {
  FenceSet set = hand_made();
  Result<FenceIndex> index = FenceIndex::build(set);
  ASSERT_TRUE(index);
  auto hit = index->lookup(2, 7);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->fence, set.find("d_island")->id);
  EXPECT_EQ(hit->shard, 2u);
  EXPECT_EQ(index->lookup(9, 1)->shard, 3u);
  EXPECT_EQ(index->lookup(1, 11)->shard, 1023u);
}

// Every point of a 1/16-degree lattice, most of them on some edge or vertex
// line, and random points: the index (built shallow and deep, with every
// fanout) must equal the brute-force rules bit for bit.
TEST(FenceIndex, EqualsTheRulesOnALatticeForEveryLayout) {
  FenceSet set = hand_made();
  RuleLocator rules(set);
  std::vector<GridPoint> points;
  for (double lat = -1; lat <= 17; lat += 0.0625)
    for (double lon = -1; lon <= 16; lon += 0.0625) points.push_back(*to_grid(lat, lon));
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(-1, 17), lon(-1, 16);
  for (int i = 0; i < 20000; ++i) {
    double la = lat(rng);
    points.push_back(*to_grid(la, lon(rng)));
  }
  for (int fanout = 1; fanout <= 4; ++fanout) {
    for (size_t leaf_edges : {size_t{1}, size_t{3}, size_t{1000}}) {
      for (bool compact : {true, false}) {
        FenceIndexOptions options = deep_options();
        options.fanout_bits = fanout;
        options.leaf_edges_max = leaf_edges;
        options.compact_leaves = compact;
        Result<FenceIndex> index = FenceIndex::build(set, options);
        ASSERT_TRUE(index) << index.status().to_string();
        // The hand-made vertices sit on coarse fractions of a degree: every
        // leaf entry fits 16-bit offsets unless that is switched off.
        EXPECT_EQ(index->stats().compact_entries, compact ? index->stats().leaf_entries : 0u);
        size_t mismatches = 0;
        for (GridPoint p : points) {
          auto hit = index->lookup(p);
          mismatches += (hit ? std::optional<FenceId>(hit->fence) : std::nullopt) != rules.locate(p);
        }
        EXPECT_EQ(mismatches, 0u) << "fanout_bits " << fanout << ", leaf_edges_max " << leaf_edges
                                  << ", compact_leaves " << compact;
      }
    }
  }
}

// Vertices off any coarse grid, on edges many degrees long: their offsets
// from a small cell's corner need more than 16 bits, so those leaf entries
// keep full coordinates while the coarse fence beside them is compact. The
// two formats in one index must still equal the rules.
TEST(FenceIndex, LeavesThatCannotBeCompactKeepFullCoordinates) {
  auto ring = [](std::vector<LonLat> r) {
    r.push_back(r.front());
    return r;
  };
  std::vector<Fence> fences(2);
  fences[0].name = "fine";
  fences[0].polygons.push_back(Polygon{{ring({{0.1234567, 0.2345678}, {10.987654, 0.3456789}, {5.4321, 9.87654}})}});
  fences[1].name = "grid";
  fences[1].polygons.push_back(Polygon{{ring({{5, 1}, {12, 1}, {12, 4}, {5, 4}})}});
  Result<FenceSet> set = FenceSet::from_fences(std::move(fences));
  ASSERT_TRUE(set) << set.status().to_string();
  Result<FenceIndex> index = FenceIndex::build(*set, deep_options());
  ASSERT_TRUE(index) << index.status().to_string();
  EXPECT_GT(index->stats().compact_entries, 0u);
  EXPECT_LT(index->stats().compact_entries, index->stats().leaf_entries);
  RuleLocator rules(*set);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-0.5, 10.5), lon(-0.5, 12.5);
  size_t mismatches = 0, hits = 0;
  for (int i = 0; i < 40000; ++i) {
    const GridPoint p = *to_grid(lat(rng), lon(rng));
    auto hit = index->lookup(p);
    hits += hit.has_value();
    mismatches += (hit ? std::optional<FenceId>(hit->fence) : std::nullopt) != rules.locate(p);
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(hits, 10000u);
}

// Boost.Geometry's `within` is an independent implementation; it excludes
// boundaries, so points exactly on an edge are left to the test above.
TEST(FenceIndex, AgreesWithBoostGeometryOffTheEdges) {
  FenceSet set = hand_made();
  Result<FenceIndex> index = FenceIndex::build(set, deep_options());
  ASSERT_TRUE(index);
  BoostReference boost(set);
  size_t on_edge = 0, compared = 0;
  for (const LatLon& p : uniform_points(50000, 11, SampleBox{-1, 17, -1, 16})) {
    if (boost.on_boundary(p.lat, p.lon)) {
      ++on_edge;
      continue;
    }
    auto hit = index->lookup(p.lat, p.lon);
    ASSERT_EQ(hit ? std::optional<FenceId>(hit->fence) : std::nullopt, boost.lookup(p.lat, p.lon))
        << "(" << p.lon << ", " << p.lat << ")";
    ++compared;
  }
  EXPECT_LT(on_edge, 10u);
  EXPECT_GT(compared, 49000u);
}

TEST(FenceIndex, InvalidPointsAndEmptyIndexesMiss) {
  FenceSet set = hand_made();
  Result<FenceIndex> index = FenceIndex::build(set);
  ASSERT_TRUE(index);
  EXPECT_FALSE(index->lookup(NAN, 1));
  EXPECT_FALSE(index->lookup(1, INFINITY));
  EXPECT_FALSE(index->lookup(91, 1));
  EXPECT_FALSE(index->lookup(1, -181));
  EXPECT_FALSE(index->lookup(-90, -180));
  EXPECT_FALSE(index->lookup(90, 180));
  FenceIndex empty;
  EXPECT_FALSE(empty.lookup(1, 1));
  Result<FenceIndex> built_empty = FenceIndex::build(FenceSet{});
  ASSERT_TRUE(built_empty);
  EXPECT_FALSE(built_empty->lookup(1, 1));
}

TEST(FenceIndex, RejectsOptionsOutOfRange) {
  FenceSet set = hand_made();
  FenceIndexOptions bad;
  bad.fanout_bits = 5;
  EXPECT_EQ(FenceIndex::build(set, bad).status().code(), Errc::invalid_argument);
  bad = FenceIndexOptions{};
  bad.leaf_edges_max = 0;
  EXPECT_EQ(FenceIndex::build(set, bad).status().code(), Errc::invalid_argument);
}

TEST(FenceIndex, ReportsMemoryAndShape) {
  FenceSet set = hand_made();
  Result<FenceIndex> index = FenceIndex::build(set, deep_options());
  ASSERT_TRUE(index);
  const FenceIndexStats& s = index->stats();
  EXPECT_EQ(s.fences, 9u);
  EXPECT_EQ(s.polygons, 10u);
  EXPECT_GT(s.split_cells, 0u);
  EXPECT_GT(s.full_cells, 0u);
  EXPECT_GT(s.leaves, 0u);
  EXPECT_GT(s.depth_max, 1);
  EXPECT_EQ(s.memory_bytes, index->memory_bytes());
  EXPECT_GT(index->memory_bytes(), s.leaf_edges * 8);
}

// Request threads share one index: concurrent lookups must see exactly what
// a single thread sees.
TEST(FenceIndex, ConcurrentLookupsAgree) {
  FenceSet set = hand_made();
  Result<FenceIndex> built = FenceIndex::build(set, deep_options());
  ASSERT_TRUE(built);
  const FenceIndex& index = *built;
  const std::vector<LatLon> points = uniform_points(20000, 5, SampleBox{-1, 17, -1, 16});
  std::vector<std::optional<FenceHit>> expected;
  for (const LatLon& p : points) expected.push_back(index.lookup(p.lat, p.lon));
  std::vector<size_t> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (size_t i = 0; i < points.size(); ++i)
          mismatches[t] += index.lookup(points[i].lat, points[i].lon) != expected[i];
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t m : mismatches) EXPECT_EQ(m, 0u);
}

TEST(GeoFences, LoadsAndLocatesInOneCall) {
  auto geo = load_geo_fences(testing::kGoodFences, testing::kTestShards);
  ASSERT_TRUE(geo) << geo.status().to_string();
  auto answer = (*geo)->locate(2, 7);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->fence->name, "d_island");
  EXPECT_EQ(answer->shard->name, "rings");
  EXPECT_EQ(answer->shard->owner, "sh");
  EXPECT_FALSE((*geo)->locate(50, 50));
  EXPECT_EQ((*geo)->report.fences, 9u);
  auto missing = load_geo_fences(testing::kGoodFences, "/nonexistent.toml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), Errc::not_found);
}

}  // namespace ezone::geo
