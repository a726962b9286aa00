#include "sample_points.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace ezone::geo {
namespace {

constexpr double kMetresPerDegreeLat = 111320.0;
constexpr double kPi = 3.14159265358979323846;

LatLon snapped(double lat, double lon) {
  lat = std::clamp(lat, -90.0, 90.0);
  lon = std::clamp(lon, -180.0, 180.0);
  return LatLon{snap_degrees(lat), snap_degrees(lon)};
}

struct Edge {
  LonLat a, b;
};

std::vector<Edge> all_edges(const FenceSet& fences) {
  std::vector<Edge> edges;
  for (const Fence& f : fences.fences())
    for (const Polygon& p : f.polygons)
      for (const Ring& r : p.rings)
        for (size_t i = 0; i + 1 < r.size(); ++i) edges.push_back(Edge{r[i], r[i + 1]});
  return edges;
}

double metres_per_degree_lon(double lat) { return kMetresPerDegreeLat * std::cos(lat * kPi / 180.0); }

double edge_length_m(const Edge& e) {
  double dx = (e.b.lon - e.a.lon) * metres_per_degree_lon((e.a.lat + e.b.lat) / 2);
  double dy = (e.b.lat - e.a.lat) * kMetresPerDegreeLat;
  return std::hypot(dx, dy);
}

}  // namespace

std::vector<LatLon> uniform_points(size_t n, uint64_t seed, const SampleBox& box) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> lat(box.lat_min, box.lat_max), lon(box.lon_min, box.lon_max);
  std::vector<LatLon> points;
  points.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    double la = lat(rng);  // named: argument evaluation order is unspecified
    double lo = lon(rng);
    points.push_back(snapped(la, lo));
  }
  return points;
}

std::vector<LatLon> near_border_points(const FenceSet& fences, size_t n, uint64_t seed, double min_m,
                                       double max_m) {
  const std::vector<Edge> edges = all_edges(fences);
  std::vector<double> cumulative(edges.size());
  double total = 0;
  for (size_t i = 0; i < edges.size(); ++i) cumulative[i] = total += edge_length_m(edges[i]);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> along(0.0, 1.0), pick(0.0, total), offset(min_m, max_m);
  std::vector<LatLon> points;
  points.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    size_t k = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), pick(rng)) -
                                   cumulative.begin());
    const Edge& e = edges[std::min(k, edges.size() - 1)];
    const double t = along(rng);
    const double d = offset(rng) * (rng() & 1 ? 1.0 : -1.0);
    const double lat = e.a.lat + t * (e.b.lat - e.a.lat), lon = e.a.lon + t * (e.b.lon - e.a.lon);
    // Unit normal of the edge in local metres, then back to degrees.
    const double mx = metres_per_degree_lon(lat);
    const double dx = (e.b.lon - e.a.lon) * mx, dy = (e.b.lat - e.a.lat) * kMetresPerDegreeLat;
    const double len = std::hypot(dx, dy);
    points.push_back(snapped(lat + d * (dx / len) / kMetresPerDegreeLat, lon - d * (dy / len) / mx));
  }
  return points;
}

}  // namespace ezone::geo
