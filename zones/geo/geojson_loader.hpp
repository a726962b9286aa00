// Loading fences from GeoJSON files.
//
// One file is one fence, named after the file stem ("beijing.geojson" ->
// "beijing"). The file may hold a FeatureCollection, a Feature or a bare
// geometry; every Polygon and MultiPolygon in it becomes part of the fence.
//
// What is an error (the whole file is rejected; the message names the file,
// the feature, the polygon, the ring and the point, and says what is wrong):
//   - the file cannot be read, or is larger than kFenceFileBytesMax;
//   - it is not JSON, or not GeoJSON (no known "type"), or holds a geometry
//     that is not a Polygon or MultiPolygon, or a feature without geometry;
//   - a position that is not [lon, lat] numbers, a NaN/infinite value, a
//     longitude outside [-180, 180] or a latitude outside [-90, 90];
//   - a ring with fewer than 4 positions (3 corners plus the closing one);
//   - a ring whose first and last positions differ after snapping to the
//     grid (fence.hpp), i.e. by more than about 1 cm: an unclosed ring;
//   - no polygon left after the repairs below.
//
// What is repaired, counted in LoadReport and listed as a warning (real data
// has each of these; rejecting it would reject most of a country):
//   - first and last position differ but snap to the same grid point: the
//     ring is closed (rings_closed_by_snapping);
//   - consecutive positions that snap to the same point: one is kept
//     (duplicate_points_dropped);
//   - a ring whose points all lie on one line (including fewer than 3
//     distinct points) encloses nothing: it is dropped
//     (degenerate_rings_dropped); if it is an outer ring, its whole polygon
//     goes with it (polygons_dropped).
// What is kept as it is: rings that touch or cross themselves, collinear
// runs of points, overlaps between neighbouring fences, either ring
// orientation. Containment is even-odd per polygon (fence.hpp) and overlaps
// are settled by the lowest fence id (fence_index.hpp), so none of these
// makes an answer ambiguous.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "zones/geo/fence.hpp"
#include "zones/geo/shard_config.hpp"

namespace ezone::geo {

constexpr size_t kFenceFileBytesMax = size_t{64} << 20;  // the largest real file is 1.8 MB
constexpr size_t kFenceFilesMax = size_t{1} << 20;       // fence ids must fit the index's 30 bits
constexpr size_t kLoadMessagesMax = 100;                 // warnings/errors kept as text

// What a load did. Counters always count; the message lists keep the first
// kLoadMessagesMax entries each.
struct LoadReport {
  size_t files_read = 0;
  size_t files_failed = 0;
  size_t fences = 0;
  size_t polygons = 0;
  size_t holes = 0;
  size_t vertices = 0;
  size_t rings_closed_by_snapping = 0;
  size_t duplicate_points_dropped = 0;
  size_t degenerate_rings_dropped = 0;
  size_t polygons_dropped = 0;
  std::vector<std::string> warnings;
  std::vector<std::string> errors;

  void warn(std::string message);
  void fail(std::string message);
  // One line: "392 fences, 4113 polygons, ... 0 failed".
  std::string summary() const;
};

// Parses one GeoJSON document into a fence called `name` (shard and id are
// left 0; load_fence_files sets them). `source` names the document in
// messages. `report` may be nullptr. Errors: parse_error (not JSON, not
// GeoJSON) or invalid_argument (a rule above).
Result<Fence> parse_fence(std::string_view text, const std::string& source, const std::string& name,
                          LoadReport* report);

// Reads one file (name = file stem). Adds not_found / io_error to the above.
Result<Fence> read_fence_file(const std::string& path, LoadReport* report);

// Loads every file, assigns shards from `shards`, checks that every shard
// matched a fence, and returns the set (ids in name order). Every file is
// tried, so the report lists all broken files at once; the returned error
// is the first one, with the number of others. `report` may be nullptr.
Result<FenceSet> load_fence_files(const std::vector<std::string>& paths, const ShardConfig& shards,
                                  LoadReport* report);

// load_fence_files on every "*.geojson" directly in `dir` (sorted). Errors:
// not_found if dir is missing or holds no such file.
Result<FenceSet> load_fences(const std::string& dir, const ShardConfig& shards, LoadReport* report);

}  // namespace ezone::geo
