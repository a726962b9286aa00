#include "zones/geo/geojson_loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "geo_test_support.hpp"

namespace ezone::geo {
namespace {

using testing::kBrokenFences;
using testing::kGoodFences;
using testing::kTestShards;

ShardConfig test_shards() {
  Result<ShardConfig> c = load_shard_config(kTestShards);
  EXPECT_TRUE(c) << c.status().to_string();
  return c ? *c : ShardConfig{};
}

struct BrokenCase {
  const char* file;
  Errc code;
  std::vector<std::string> fragments;  // all must appear in the message
};

}  // namespace

TEST(GeoJsonLoader, LoadsTheHandMadeSetWithIdsInNameOrder) {
  LoadReport report;
  Result<FenceSet> set = load_fences(kGoodFences, test_shards(), &report);
  ASSERT_TRUE(set) << set.status().to_string();
  ASSERT_EQ(set->size(), 9u);
  const char* names[] = {"a_square", "b_square", "c_donut", "d_island", "e_islands",
                         "h_triangle", "i_repaired", "overlap_f_low", "overlap_g_high"};
  for (FenceId id = 0; id < 9; ++id) {
    EXPECT_EQ(set->fence(id).name, names[id]);
    EXPECT_EQ(set->fence(id).id, id);
  }
  EXPECT_EQ(set->find("a_square")->label, "square A");
  EXPECT_EQ(set->find("b_square")->label, "") << "a bare geometry has no properties";
  EXPECT_EQ(set->find("b_square")->shard, 1u);
  EXPECT_EQ(set->find("e_islands")->shard, 2u);
  EXPECT_EQ(set->find("overlap_g_high")->shard, 3u) << "matched by prefix";
  EXPECT_EQ(set->find("i_repaired")->shard, 1023u);
  EXPECT_EQ(set->find("nope"), nullptr);
  EXPECT_EQ(report.files_read, 9u);
  EXPECT_EQ(report.files_failed, 0u);
  EXPECT_EQ(report.fences, 9u);
  EXPECT_EQ(report.polygons, 10u);
  EXPECT_EQ(report.holes, 2u);
}

TEST(GeoJsonLoader, PolygonsAndHolesKeepTheirStructure) {
  Result<FenceSet> set = load_fences(kGoodFences, test_shards(), nullptr);
  ASSERT_TRUE(set);
  const Fence& donut = *set->find("c_donut");
  ASSERT_EQ(donut.polygons.size(), 1u);
  ASSERT_EQ(donut.polygons[0].rings.size(), 2u);
  EXPECT_EQ(donut.polygons[0].rings[1][0], (LonLat{6, 1}));
  const Fence& islands = *set->find("e_islands");
  ASSERT_EQ(islands.polygons.size(), 2u);
  EXPECT_EQ(islands.polygons[1].rings.size(), 2u);
  EXPECT_EQ(islands.vertex_count(), 15u);
}

// i_repaired.geojson has one of each flaw that real data has.
TEST(GeoJsonLoader, RepairsRealDataFlawsAndCountsThem) {
  LoadReport report;
  Result<Fence> fence = read_fence_file(kGoodFences + "/i_repaired.geojson", &report);
  ASSERT_TRUE(fence) << fence.status().to_string();
  EXPECT_EQ(fence->name, "i_repaired");
  EXPECT_EQ(report.rings_closed_by_snapping, 1u);
  EXPECT_EQ(report.duplicate_points_dropped, 1u);
  EXPECT_EQ(report.degenerate_rings_dropped, 2u) << "a collinear hole and a collinear outer ring";
  EXPECT_EQ(report.polygons_dropped, 1u);
  ASSERT_EQ(fence->polygons.size(), 1u);
  ASSERT_EQ(fence->polygons[0].rings.size(), 1u) << "the collinear hole is gone";
  const Ring& ring = fence->polygons[0].rings[0];
  EXPECT_EQ(ring.size(), 5u);
  EXPECT_EQ(ring.front(), ring.back()) << "closed exactly after snapping";
  EXPECT_EQ(report.warnings.size(), 4u);
  for (const std::string& w : report.warnings) {
    EXPECT_NE(w.find("i_repaired.geojson: feature 0 ('needs repairs'): polygon "), std::string::npos) << w;
  }
}

TEST(GeoJsonLoader, EveryBrokenFileGetsAClearError) {
  const BrokenCase cases[] = {
      {"unclosed.geojson", Errc::invalid_argument,
       {"feature 1 ('open ring'): polygon 0: ring 0", "ring is not closed: first point (0, 0) != last point (0, 1)"}},
      {"too_few_points.geojson", Errc::invalid_argument,
       {"feature 0 ('two corners'): polygon 0: ring 0", "ring has 3 position(s); a closed ring needs at least 4"}},
      {"lon_out_of_range.geojson", Errc::invalid_argument,
       {"feature 0 ('east of the date line'): polygon 1: ring 0: point 1", "longitude is outside [-180, 180]"}},
      {"lat_out_of_range.geojson", Errc::invalid_argument,
       {"polygon 0: ring 0: point 0", "latitude is outside [-90, 90] in (39.9, 116.4)", "[lon, lat]"}},
      {"not_a_number.geojson", Errc::invalid_argument, {"point 1", "position is not [lon, lat] numbers"}},
      {"overflow.geojson", Errc::parse_error, {"not JSON"}},
      {"truncated.geojson", Errc::parse_error, {"not JSON", "line 1"}},
      {"not_json.geojson", Errc::parse_error, {"not JSON"}},
      {"empty.geojson", Errc::parse_error, {"not JSON"}},
      {"not_geojson.geojson", Errc::parse_error, {"not GeoJSON: the top-level object has no \"type\""}},
      {"point.geojson", Errc::invalid_argument,
       {"feature 0 ('a shop')", "geometry type 'Point' cannot be a fence; use Polygon or MultiPolygon"}},
      {"no_geometry.geojson", Errc::invalid_argument, {"feature 0 ('nothing')", "has no geometry"}},
      {"no_area.geojson", Errc::invalid_argument, {"no polygon with an area is left"}},
  };
  for (const BrokenCase& c : cases) {
    LoadReport report;
    Result<Fence> fence = read_fence_file(kBrokenFences + "/" + c.file, &report);
    ASSERT_FALSE(fence) << c.file << " loaded";
    const std::string& message = fence.status().message();
    EXPECT_EQ(fence.status().code(), c.code) << c.file << ": " << message;
    EXPECT_NE(message.find(std::string(c.file) + ":"), std::string::npos) << "names the file: " << message;
    for (const std::string& fragment : c.fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << c.file << ": expected '" << fragment << "' in: " << message;
  }
}

TEST(GeoJsonLoader, AFolderWithBrokenFilesReportsThemAll) {
  ShardConfig catch_all;
  catch_all.source = "inline";
  catch_all.ezones = {"bj"};
  catch_all.shards.push_back(ShardSpec{1, "all", "bj", "", {}});
  for (const auto& entry : std::filesystem::directory_iterator(kBrokenFences))
    if (entry.path().extension() == ".geojson") catch_all.shards[0].fences.push_back(entry.path().stem().string());
  LoadReport report;
  Result<FenceSet> set = load_fences(kBrokenFences, catch_all, &report);
  ASSERT_FALSE(set);
  EXPECT_EQ(report.files_read, 13u);
  EXPECT_EQ(report.files_failed, 13u);
  EXPECT_EQ(report.errors.size(), 13u);
  EXPECT_NE(set.status().message().find("(and 12 more broken fence files)"), std::string::npos)
      << set.status().message();
}

TEST(GeoJsonLoader, MissingInputsAreNotFound) {
  Result<Fence> fence = read_fence_file("/nonexistent/beijing.geojson", nullptr);
  ASSERT_FALSE(fence);
  EXPECT_EQ(fence.status().code(), Errc::not_found);
  EXPECT_NE(fence.status().message().find("/nonexistent/beijing.geojson"), std::string::npos);
  Result<FenceSet> set = load_fences("/nonexistent", test_shards(), nullptr);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.status().code(), Errc::not_found);
  set = load_fences(testing::kSourceDir + "/config/shards", test_shards(), nullptr);
  ASSERT_FALSE(set);
  EXPECT_NE(set.status().message().find("holds no .geojson fence files"), std::string::npos);
}

TEST(GeoJsonLoader, AFenceWithoutAShardIsAnError) {
  ShardConfig only_squares;
  only_squares.source = "inline";
  only_squares.ezones = {"bj"};
  only_squares.shards.push_back(ShardSpec{1, "squares", "bj", "", {"a_square", "b_square"}});
  LoadReport report;
  Result<FenceSet> set = load_fences(kGoodFences, only_squares, &report);
  ASSERT_FALSE(set);
  EXPECT_NE(set.status().message().find("fence 'c_donut' belongs to no shard"), std::string::npos)
      << set.status().message();
  EXPECT_EQ(report.files_failed, 7u);
}

TEST(GeoJsonLoader, ParsesTextDirectly) {
  LoadReport report;
  Result<Fence> fence = parse_fence(R"({"type":"MultiPolygon","coordinates":[[[[1,1],[2,1],[2,2],[1,1]]]]})",
                                    "inline", "tri", &report);
  ASSERT_TRUE(fence) << fence.status().to_string();
  EXPECT_EQ(fence->name, "tri");
  EXPECT_EQ(fence->source, "inline");
  EXPECT_EQ(report.vertices, 4u);
  Result<Fence> collection = parse_fence(R"({"type":"FeatureCollection","features":[]})", "inline", "x", nullptr);
  ASSERT_FALSE(collection);
  EXPECT_NE(collection.status().message().find("FeatureCollection has no features"), std::string::npos);
  Result<Fence> line = parse_fence(R"({"type":"LineString","coordinates":[[1,1],[2,2]]})", "inline", "x", nullptr);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.status().code(), Errc::parse_error);
}

TEST(GeoJsonLoader, CoordinatesNestedTooDeepAreAnErrorNamingTheSource) {
  const std::string deep = R"({"type":"Polygon","coordinates":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  Result<Fence> fence = parse_fence(deep, "deep.geojson", "x", nullptr);
  ASSERT_FALSE(fence);
  EXPECT_EQ(fence.status().code(), Errc::parse_error);
  EXPECT_EQ(fence.status().message(), "deep.geojson: not JSON: nested deeper than 64 levels at byte 95");
}

TEST(FenceSet, DuplicateNamesAreRejected) {
  Fence a;
  a.name = "same";
  a.source = "one.geojson";
  Fence b = a;
  b.source = "two/one.geojson";
  Result<FenceSet> set = FenceSet::from_fences({a, b});
  ASSERT_FALSE(set);
  EXPECT_NE(set.status().message().find("two fences are named 'same'"), std::string::npos);
}

}  // namespace ezone::geo
