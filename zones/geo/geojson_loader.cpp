#include "zones/geo/geojson_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "zones/geo/grid_geometry.hpp"

namespace ezone::geo {
namespace {

using nlohmann::json;

std::string format_position(double lon, double lat) {
  std::ostringstream out;
  out.precision(12);
  out << "(" << lon << ", " << lat << ")";
  return out.str();
}

Status geo_error(const std::string& where, const std::string& problem) {
  return Status(Errc::invalid_argument, where + ": " + problem);
}

// Reads a GeoJSON position. Extra members (altitude) are allowed by RFC 7946
// and ignored.
Status read_position(const json& p, const std::string& where, LonLat* out) {
  if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number())
    return geo_error(where, "position is not [lon, lat] numbers: " + p.dump().substr(0, 80));
  double lon = p[0].get<double>();
  double lat = p[1].get<double>();
  if (!std::isfinite(lon) || !std::isfinite(lat))
    return geo_error(where, "coordinate is not a finite number");
  if (lon < -180.0 || lon > 180.0)
    return geo_error(where, "longitude is outside [-180, 180] in " + format_position(lon, lat) +
                                " (is the order [lon, lat]?)");
  if (lat < -90.0 || lat > 90.0)
    return geo_error(where, "latitude is outside [-90, 90] in " + format_position(lon, lat) +
                                " (is the order [lon, lat]?)");
  *out = LonLat{lon, lat};
  return Status::ok();
}

// True if every point lies on one line (fewer than 3 distinct points
// included): such a ring encloses nothing under any rule.
bool all_collinear(const Ring& ring) {
  GridPoint a = *to_grid(ring[0].lat, ring[0].lon);
  std::optional<GridPoint> b;
  for (const LonLat& v : ring) {
    GridPoint p = *to_grid(v.lat, v.lon);
    if (!b) {
      if (p != a) b = p;
    } else if (orient(a, *b, p) != 0) {
      return false;
    }
  }
  return true;
}

// Snaps, closes within the grid and drops consecutive duplicates. Sets
// *degenerate for a ring that encloses nothing.
Status normalize_ring(const std::vector<LonLat>& raw, const std::string& where, LoadReport& report,
                      Ring* ring, bool* degenerate) {
  const LonLat first = raw.front(), last = raw.back();
  LonLat snapped_first{snap_degrees(first.lon), snap_degrees(first.lat)};
  LonLat snapped_last{snap_degrees(last.lon), snap_degrees(last.lat)};
  if (snapped_first != snapped_last)
    return geo_error(where, "ring is not closed: first point " + format_position(first.lon, first.lat) +
                                " != last point " + format_position(last.lon, last.lat) +
                                ". Fix: repeat the first position at the end");
  if (first != last) {
    ++report.rings_closed_by_snapping;
    report.warn(where + ": first and last points differ by less than the grid; closed");
  }
  size_t duplicates = 0;
  for (const LonLat& v : raw) {
    LonLat s{snap_degrees(v.lon), snap_degrees(v.lat)};
    if (!ring->empty() && ring->back() == s) {
      ++duplicates;
      continue;
    }
    ring->push_back(s);
  }
  if (duplicates > 0) {
    report.duplicate_points_dropped += duplicates;
    report.warn(where + ": dropped " + std::to_string(duplicates) + " repeated consecutive point(s)");
  }
  *degenerate = ring->size() < 4 || all_collinear(*ring);
  return Status::ok();
}

Status read_ring(const json& r, const std::string& where, LoadReport& report, Ring* ring, bool* degenerate) {
  if (!r.is_array()) return geo_error(where, "ring is not an array of positions");
  if (r.size() < 4)
    return geo_error(where, "ring has " + std::to_string(r.size()) +
                                " position(s); a closed ring needs at least 4 (3 corners and the closing point)");
  std::vector<LonLat> raw(r.size());
  for (size_t i = 0; i < r.size(); ++i)
    if (Status s = read_position(r[i], where + ": point " + std::to_string(i), &raw[i]); !s) return s;
  return normalize_ring(raw, where, report, ring, degenerate);
}

Status read_polygon(const json& rings, const std::string& where, LoadReport& report, std::vector<Polygon>* out) {
  if (!rings.is_array() || rings.empty()) return geo_error(where, "polygon has no rings");
  Polygon polygon;
  for (size_t k = 0; k < rings.size(); ++k) {
    const std::string ring_where = where + ": ring " + std::to_string(k);
    Ring ring;
    bool degenerate = false;
    if (Status s = read_ring(rings[k], ring_where, report, &ring, &degenerate); !s) return s;
    if (!degenerate) {
      polygon.rings.push_back(std::move(ring));
      continue;
    }
    ++report.degenerate_rings_dropped;
    if (k == 0) {
      ++report.polygons_dropped;
      report.warn(ring_where + ": outer ring has no area (all points on one line); polygon dropped");
      return Status::ok();
    }
    report.warn(ring_where + ": hole has no area (all points on one line); dropped");
  }
  out->push_back(std::move(polygon));
  return Status::ok();
}

Status read_geometry(const json& g, const std::string& where, LoadReport& report, std::vector<Polygon>* out) {
  if (!g.is_object()) return geo_error(where, "has no geometry object");
  auto type = g.find("type");
  auto coords = g.find("coordinates");
  if (type == g.end() || !type->is_string()) return geo_error(where, "geometry has no \"type\"");
  const std::string t = type->get<std::string>();
  if (t != "Polygon" && t != "MultiPolygon")
    return geo_error(where, "geometry type '" + t + "' cannot be a fence; use Polygon or MultiPolygon");
  if (coords == g.end() || !coords->is_array()) return geo_error(where, t + " has no \"coordinates\" array");
  if (t == "Polygon") return read_polygon(*coords, where + ": polygon 0", report, out);
  if (coords->empty()) return geo_error(where, "MultiPolygon has no polygons");
  for (size_t i = 0; i < coords->size(); ++i)
    if (Status s = read_polygon((*coords)[i], where + ": polygon " + std::to_string(i), report, out); !s) return s;
  return Status::ok();
}

// "<source>: feature 3 ('北京')", the prefix of every message about a feature.
std::string feature_where(const std::string& source, size_t index, const json& feature) {
  std::string where = source + ": feature " + std::to_string(index);
  auto props = feature.find("properties");
  if (props != feature.end() && props->is_object()) {
    auto name = props->find("name");
    if (name != props->end() && name->is_string()) where += " ('" + name->get<std::string>() + "')";
  }
  return where;
}

std::string feature_label(const json& feature) {
  auto props = feature.find("properties");
  if (props == feature.end() || !props->is_object()) return "";
  auto name = props->find("name");
  return name != props->end() && name->is_string() ? name->get<std::string>() : "";
}

Status read_feature(const json& f, size_t index, const std::string& source, LoadReport& report, Fence* fence) {
  const std::string where = feature_where(source, index, f);
  if (!f.is_object() || f.value("type", json()) != "Feature") return geo_error(where, "is not a GeoJSON Feature");
  auto geometry = f.find("geometry");
  if (geometry == f.end() || geometry->is_null())
    return geo_error(where, "has no geometry; a fence feature needs a Polygon or MultiPolygon");
  if (fence->label.empty()) fence->label = feature_label(f);
  return read_geometry(*geometry, where, report, &fence->polygons);
}

Status read_document(const json& doc, const std::string& source, LoadReport& report, Fence* fence) {
  if (!doc.is_object()) return Status(Errc::parse_error, source + ": not GeoJSON: the top level is not an object");
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string())
    return Status(Errc::parse_error, source + ": not GeoJSON: the top-level object has no \"type\"");
  const std::string t = type->get<std::string>();
  if (t == "Feature") return read_feature(doc, 0, source, report, fence);
  if (t == "Polygon" || t == "MultiPolygon")
    return read_geometry(doc, source + ": geometry", report, &fence->polygons);
  if (t != "FeatureCollection")
    return Status(Errc::parse_error, source + ": not a fence: GeoJSON type '" + t +
                                         "'; use a FeatureCollection, Feature, Polygon or MultiPolygon");
  auto features = doc.find("features");
  if (features == doc.end() || !features->is_array() || features->empty())
    return geo_error(source, "FeatureCollection has no features");
  for (size_t i = 0; i < features->size(); ++i)
    if (Status s = read_feature((*features)[i], i, source, report, fence); !s) return s;
  return Status::ok();
}

void count_fence(const Fence& fence, LoadReport& report) {
  ++report.fences;
  report.polygons += fence.polygons.size();
  for (const Polygon& p : fence.polygons) report.holes += p.rings.size() - 1;
  report.vertices += fence.vertex_count();
}

std::string file_stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

void LoadReport::warn(std::string message) {
  if (warnings.size() < kLoadMessagesMax) warnings.push_back(std::move(message));
}

void LoadReport::fail(std::string message) {
  ++files_failed;
  if (errors.size() < kLoadMessagesMax) errors.push_back(std::move(message));
}

std::string LoadReport::summary() const {
  std::ostringstream out;
  out << fences << " fences from " << files_read << " files (" << files_failed << " failed), " << polygons
      << " polygons, " << holes << " holes, " << vertices << " vertices; repaired: " << rings_closed_by_snapping
      << " rings closed by snapping, " << duplicate_points_dropped << " duplicate points dropped, "
      << degenerate_rings_dropped << " degenerate rings dropped (" << polygons_dropped << " polygons)";
  return out.str();
}

Result<Fence> parse_fence(std::string_view text, const std::string& source, const std::string& name,
                          LoadReport* report) {
  LoadReport local;
  LoadReport& r = report ? *report : local;
  auto parsed = parse_json(text);
  // The message carries the line and column, or the depth and byte offset.
  if (!parsed) return Status(Errc::parse_error, source + ": not JSON: " + parsed.status().message());
  const json& doc = *parsed;
  Fence fence;
  fence.name = name;
  fence.source = source;
  if (Status s = read_document(doc, source, r, &fence); !s) return s;
  if (fence.polygons.empty())
    return geo_error(source, "no polygon with an area is left (every outer ring was degenerate)");
  count_fence(fence, r);
  return fence;
}

Result<Fence> read_fence_file(const std::string& path, LoadReport* report) {
  if (report) ++report->files_read;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status(Errc::not_found, path + ": cannot read the fence file (" + ec.message() + ")");
  if (size > kFenceFileBytesMax)
    return Status(Errc::invalid_argument, path + ": " + std::to_string(size) + " bytes is more than the limit of " +
                                              std::to_string(kFenceFileBytesMax) + " for one fence file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::not_found, path + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) return Status(Errc::io_error, path + ": short read");
  return parse_fence(text, path, file_stem(path), report);
}

Result<FenceSet> load_fence_files(const std::vector<std::string>& paths, const ShardConfig& shards,
                                  LoadReport* report) {
  LoadReport local;
  LoadReport& r = report ? *report : local;
  if (paths.size() > kFenceFilesMax)
    return Status(Errc::invalid_argument, std::to_string(paths.size()) + " fence files exceed the limit of " +
                                              std::to_string(kFenceFilesMax));
  std::vector<Fence> fences;
  Status first_error;
  for (const std::string& path : paths) {
    Result<Fence> fence = read_fence_file(path, &r);
    Result<ShardId> shard = fence ? shards.shard_for(fence->name) : Result<ShardId>(fence.status());
    if (!shard) {
      if (first_error.is_ok()) first_error = shard.status();
      r.fail(shard.status().message());
      continue;
    }
    fence->shard = *shard;
    fences.push_back(std::move(*fence));
  }
  if (!first_error.is_ok()) {
    std::string more = r.files_failed > 1
                           ? " (and " + std::to_string(r.files_failed - 1) + " more broken fence files)"
                           : "";
    return Status(first_error.code(), first_error.message() + more);
  }
  std::vector<std::string> names;
  for (const Fence& f : fences) names.push_back(f.name);
  if (Status s = shards.check_all_used(names); !s) return s;
  return FenceSet::from_fences(std::move(fences));
}

Result<FenceSet> load_fences(const std::string& dir, const ShardConfig& shards, LoadReport* report) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".geojson" && it->is_regular_file(ec)) paths.push_back(it->path().string());
  }
  if (ec) return Status(Errc::not_found, dir + ": cannot list the fence folder (" + ec.message() + ")");
  if (paths.empty()) return Status(Errc::not_found, dir + ": holds no .geojson fence files");
  std::sort(paths.begin(), paths.end());
  return load_fence_files(paths, shards, report);
}

}  // namespace ezone::geo
