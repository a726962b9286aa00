// Exact geometry on the fixed-point grid (fence.hpp, "Coordinates").
//
// Every containment answer in ezone comes from these few predicates, all in
// exact int64 arithmetic, so the index, its build and the brute-force
// reference cannot disagree because of rounding.
//
// THE EDGE RULE (half-open, "right and up"): a point P that lies exactly on a
// fence boundary gets the answer of the point P + (e, e^2) for an
// infinitesimal e > 0: the point just to its right, or, on a horizontal
// edge, just above it. Concretely:
//   - on a left edge of a square: inside;  on a right edge: outside;
//   - on a bottom edge: inside;            on a top edge: outside;
//   - corners: only the bottom-left corner is inside;
//   - on an edge shared by two fences: inside exactly one of them (the one on
//     the right / above), so a shared border never belongs to both or none.
// It is the classic crossing-number test with half-open vertical spans
// (count edge (a, b) when (a.y > p.y) != (b.y > p.y) and p is strictly left
// of it), which is what ray_crosses_edge computes; segment_crosses_edge
// applies the same perturbation to both ends of a segment, which is what lets
// the index start from a cell's centre instead of casting a ray to infinity.
#pragma once

#include <cstdint>
#include <optional>

namespace ezone::geo {

// A grid point: x = (lon + 180) * 2^22, y = (lat + 90) * 2^22, both
// non-negative and below 2^31.
struct GridPoint {
  int64_t x = 0;
  int64_t y = 0;
  bool operator==(const GridPoint& o) const { return x == o.x && y == o.y; }
  bool operator!=(const GridPoint& o) const { return !(*this == o); }
};

constexpr int64_t kGridLonOffset = int64_t{180} << 22;
constexpr int64_t kGridLatOffset = int64_t{90} << 22;

// Snaps (lat, lon) to the grid. nullopt if either is NaN or out of range.
std::optional<GridPoint> to_grid(double lat, double lon);

// Sign of the cross product (b - a) x (p - a): > 0 if p is left of a->b.
// Exact: |coordinates| < 2^31 keeps each product below 2^62.
inline int64_t orient(GridPoint a, GridPoint b, GridPoint p) {
  return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
}

// Half-open ray test for one edge: does the ray from p towards +x cross
// edge (a, b)? A ring contains p iff an odd number of its edges answer true.
inline bool ray_crosses_edge(GridPoint a, GridPoint b, GridPoint p) {
  if ((a.y > p.y) == (b.y > p.y)) return false;
  // Orient the edge upwards so "strictly left" is orient > 0.
  return a.y < b.y ? orient(a, b, p) > 0 : orient(b, a, p) > 0;
}

// Sign (+1/-1) of orient(a, b, q + (e, e^2)). Never 0 when a != b.
inline int side_perturbed(GridPoint a, GridPoint b, GridPoint q) {
  int64_t d = orient(a, b, q);
  if (d != 0) return d > 0 ? 1 : -1;
  // orient(a, b, q + d) = d + (b.x - a.x) e^2 - (b.y - a.y) e.
  if (b.y != a.y) return b.y > a.y ? -1 : 1;
  return b.x > a.x ? 1 : -1;
}

// Sign of orient(p + (e, e^2), c + (e, e^2), v): which side of the shifted
// segment p->c the vertex v is on. 0 only when p == c.
inline int vertex_side_perturbed(GridPoint p, GridPoint c, GridPoint v) {
  int64_t d = orient(p, c, v);
  if (d != 0) return d > 0 ? 1 : -1;
  // orient(p + d, c + d, v) = d + (c.y - p.y) e - (c.x - p.x) e^2.
  if (c.y != p.y) return c.y > p.y ? 1 : -1;
  if (c.x != p.x) return c.x > p.x ? -1 : 1;
  return 0;
}

// The exact part of segment_crosses_edge, without the bounding-box reject.
inline bool shifted_segment_crosses_edge(GridPoint p, GridPoint c, GridPoint a, GridPoint b) {
  if (side_perturbed(a, b, p) == side_perturbed(a, b, c)) return false;
  return vertex_side_perturbed(p, c, a) != vertex_side_perturbed(p, c, b);
}

// Does the segment from p + (e, e^2) to c + (e, e^2) cross edge (a, b)?
// The shifted segment is in general position (it passes through no vertex
// and overlaps no edge), so
//   contains(p) == contains(c) XOR (odd number of edges crossed)
// holds exactly under the edge rule, for any p and c. Requires a != b.
inline bool segment_crosses_edge(GridPoint p, GridPoint c, GridPoint a, GridPoint b) {
  // Cheap reject first: the bounding boxes must overlap (closed, since the
  // shift can only move the segment inwards of a touching box).
  if ((a.x < p.x && a.x < c.x && b.x < p.x && b.x < c.x) ||
      (a.x > p.x && a.x > c.x && b.x > p.x && b.x > c.x) ||
      (a.y < p.y && a.y < c.y && b.y < p.y && b.y < c.y) ||
      (a.y > p.y && a.y > c.y && b.y > p.y && b.y > c.y))
    return false;
  return shifted_segment_crosses_edge(p, c, a, b);
}

// Does segment (a, b) meet the open box (x0, x1) x (y0, y1)? Exact. An edge
// that only runs along a cell's border (common: real vertices sit on a
// 2^-10 degree grid, and cell borders are powers of two) does not meet it,
// and no segment between two points inside the cell can cross such an edge.
bool segment_meets_open_box(GridPoint a, GridPoint b, int64_t x0, int64_t y0, int64_t x1, int64_t y1);

}  // namespace ezone::geo
