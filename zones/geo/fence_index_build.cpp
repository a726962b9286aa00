// FenceIndex::build. Two phases:
//  1. Root grid. Each polygon's edges are bucketed into the root cells whose
//     interior they meet, and whether each root cell's centre is inside the
//     polygon is computed by a sweep along each row of centres (the
//     half-open ray rule, with a binary search per edge).
//  2. Refinement. A cell with too many edges is split; a child's centre
//     status is its parent's, flipped once per edge that the segment between
//     the two centres crosses. The segment lies inside the parent, whose
//     edge list is complete there, so the status stays exact all the way
//     down without another full ray test.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "zones/geo/fence_index.hpp"

namespace ezone::geo {
namespace {

struct Box {
  int64_t x0 = INT64_MAX, y0 = INT64_MAX, x1 = INT64_MIN, y1 = INT64_MIN;
  void add(GridPoint p) {
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
};

// Floor division for a possibly negative numerator and a positive divisor.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// One candidate polygon in a cell while building: whether the cell centre
// is inside, and the edges (by first vertex) that meet the cell's interior.
struct Entry {
  uint32_t polygon = 0;
  bool inside = false;
  std::vector<uint32_t> edges;
};
using Cell = std::vector<Entry>;

struct PolygonRef {
  FenceId fence = 0;
  size_t first_ring = 0;  // into rings_
  size_t ring_count = 0;
  Box box;
};

struct RingRef {
  uint32_t first_vertex = 0;
  uint32_t vertex_count = 0;  // closing vertex included: edges = count - 1
};

}  // namespace

class FenceIndexBuilder {
 public:
  FenceIndexBuilder(const FenceIndexOptions& options, FenceIndex* index) : opt_(options), ix_(*index) {}

  Status run(const FenceSet& fences);

 private:
  Status flatten(const FenceSet& fences);
  void choose_root();
  void add_polygon_to_root(uint32_t polygon, std::vector<Cell>& cells);
  std::vector<uint8_t> root_centres_inside(const PolygonRef& p, int64_t c_lo, int64_t r_lo, int64_t cols,
                                           int64_t rows) const;
  Cell prune(Cell cell) const;
  uint32_t make_node(int64_t x0, int64_t y0, int bits, Cell cell);
  std::optional<uint32_t> make_unsplit(int64_t x0, int64_t y0, int bits, const Cell& kept);
  uint32_t make_split(int64_t x0, int64_t y0, int bits, Cell kept, int depth);
  std::vector<Cell> split(int64_t x0, int64_t y0, int bits, const Cell& cell) const;
  uint32_t make_leaf(int64_t x0, int64_t y0, const Cell& cell);
  std::optional<int> compact_shift(int64_t x0, int64_t y0, const Entry& e) const;
  void finish(std::chrono::steady_clock::time_point start);

  GridPoint vertex(uint32_t i) const { return vertices_[i]; }
  FenceId fence_of(const Entry& e) const { return polygons_[e.polygon].fence; }

  const FenceIndexOptions opt_;
  FenceIndex& ix_;
  std::vector<PolygonRef> polygons_;
  std::vector<RingRef> rings_;
  std::vector<GridPoint> vertices_;  // every ring, closed; edge i = (i, i + 1)
  Box bounds_;
  bool overflow_ = false;  // a payload passed 2^30: reported as an error
};

Status FenceIndexBuilder::run(const FenceSet& fences) {
  auto start = std::chrono::steady_clock::now();
  if (Status s = flatten(fences); !s) return s;
  if (!polygons_.empty()) {
    choose_root();
    std::vector<Cell> cells(static_cast<size_t>(ix_.root_cols_ * ix_.root_rows_));
    for (uint32_t p = 0; p < polygons_.size(); ++p) add_polygon_to_root(p, cells);
    ix_.root_.resize(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) {
      int64_t x0 = ix_.root_x0_ + (static_cast<int64_t>(i) % ix_.root_cols_ << ix_.root_bits_);
      int64_t y0 = ix_.root_y0_ + (static_cast<int64_t>(i) / ix_.root_cols_ << ix_.root_bits_);
      ix_.root_[i] = make_node(x0, y0, ix_.root_bits_, std::move(cells[i]));
    }
  }
  if (overflow_)
    return Status(Errc::invalid_argument, "fence index: over 1 GiB of cells, or over 2^24 runs of edges in "
                                          "one cell; raise leaf_edges_max or split the fence set");
  finish(start);
  return Status::ok();
}

// Copies every ring, in grid units, into one array the build walks. The
// loader's guarantees are rechecked where breaking them would be unsafe
// (coordinates out of range); other oddities (short rings, repeated points)
// only cost time, since zero-length edges never cross anything.
Status FenceIndexBuilder::flatten(const FenceSet& fences) {
  if (fences.size() >= (size_t{1} << 30))
    return Status(Errc::invalid_argument, "fence index: more than 2^30 fences");
  if (fences.vertex_count() >= (size_t{1} << 32) - 1)
    return Status(Errc::invalid_argument, "fence index: more than 2^32 vertices");
  vertices_.reserve(fences.vertex_count());
  for (const Fence& f : fences.fences()) {
    ix_.fence_shard_.push_back(f.shard);
    for (const Polygon& poly : f.polygons) {
      PolygonRef ref{f.id, rings_.size(), poly.rings.size(), {}};
      for (const Ring& ring : poly.rings) {
        rings_.push_back(RingRef{static_cast<uint32_t>(vertices_.size()), static_cast<uint32_t>(ring.size())});
        for (const LonLat& v : ring) {
          std::optional<GridPoint> g = to_grid(v.lat, v.lon);
          if (!g) return Status(Errc::invalid_argument, "fence index: fence '" + f.name + "' has a vertex out of range");
          ref.box.add(*g);
          vertices_.push_back(*g);
        }
      }
      if (ref.box.x0 > ref.box.x1) continue;  // no vertices: nothing to index
      bounds_.add({ref.box.x0, ref.box.y0});
      bounds_.add({ref.box.x1, ref.box.y1});
      polygons_.push_back(ref);
    }
  }
  return Status::ok();
}

// The smallest power-of-two root cell that keeps the grid within budget.
void FenceIndexBuilder::choose_root() {
  int bits = opt_.min_cell_bits + opt_.fanout_bits;
  for (;; ++bits) {
    int64_t cols = (bounds_.x1 >> bits) - (bounds_.x0 >> bits) + 1;
    int64_t rows = (bounds_.y1 >> bits) - (bounds_.y0 >> bits) + 1;
    if (static_cast<size_t>(cols * rows) <= opt_.root_cells_max || bits >= 31) {
      ix_.root_bits_ = bits;
      ix_.root_cols_ = cols;
      ix_.root_rows_ = rows;
      ix_.root_x0_ = (bounds_.x0 >> bits) << bits;
      ix_.root_y0_ = (bounds_.y0 >> bits) << bits;
      return;
    }
  }
}

void FenceIndexBuilder::add_polygon_to_root(uint32_t polygon, std::vector<Cell>& cells) {
  const PolygonRef& p = polygons_[polygon];
  const int bits = ix_.root_bits_;
  const int64_t side = int64_t{1} << bits;
  const int64_t c_lo = (p.box.x0 - ix_.root_x0_) >> bits, c_hi = (p.box.x1 - ix_.root_x0_) >> bits;
  const int64_t r_lo = (p.box.y0 - ix_.root_y0_) >> bits, r_hi = (p.box.y1 - ix_.root_y0_) >> bits;
  const int64_t cols = c_hi - c_lo + 1, rows = r_hi - r_lo + 1;
  // (cell, edge) pairs for every root cell whose interior an edge meets.
  std::vector<std::pair<int64_t, uint32_t>> hits;
  for (size_t r = p.first_ring; r < p.first_ring + p.ring_count; ++r) {
    for (uint32_t i = rings_[r].first_vertex; i + 1 < rings_[r].first_vertex + rings_[r].vertex_count; ++i) {
      GridPoint a = vertex(i), b = vertex(i + 1);
      for (int64_t row = (std::min(a.y, b.y) - ix_.root_y0_) >> bits;
           row <= (std::max(a.y, b.y) - ix_.root_y0_) >> bits; ++row) {
        for (int64_t col = (std::min(a.x, b.x) - ix_.root_x0_) >> bits;
             col <= (std::max(a.x, b.x) - ix_.root_x0_) >> bits; ++col) {
          int64_t x0 = ix_.root_x0_ + col * side, y0 = ix_.root_y0_ + row * side;
          if (segment_meets_open_box(a, b, x0, y0, x0 + side, y0 + side))
            hits.emplace_back((row - r_lo) * cols + (col - c_lo), i);
        }
      }
    }
  }
  std::sort(hits.begin(), hits.end());
  std::vector<uint8_t> inside = root_centres_inside(p, c_lo, r_lo, cols, rows);
  size_t h = 0;
  for (int64_t local = 0; local < cols * rows; ++local) {
    Entry e{polygon, inside[static_cast<size_t>(local)] != 0, {}};
    for (; h < hits.size() && hits[h].first == local; ++h) e.edges.push_back(hits[h].second);
    if (!e.edges.empty() || e.inside) {
      int64_t cell = (r_lo + local / cols) * ix_.root_cols_ + c_lo + local % cols;
      cells[static_cast<size_t>(cell)].push_back(std::move(e));
    }
  }
}

// Whether each root cell centre in the polygon's box is inside it, by the
// half-open ray rule: an edge counts for the centres of a row that lie in its
// half-open y span and strictly left of it. Those centres are a prefix of
// the row, found by binary search; a toggle at the prefix end and a suffix
// XOR turn the per-edge prefixes into parities.
std::vector<uint8_t> FenceIndexBuilder::root_centres_inside(const PolygonRef& p, int64_t c_lo, int64_t r_lo,
                                                            int64_t cols, int64_t rows) const {
  const int bits = ix_.root_bits_;
  const int64_t side = int64_t{1} << bits, half = side / 2;
  const int64_t cx0 = ix_.root_x0_ + c_lo * side + half, cy0 = ix_.root_y0_ + r_lo * side + half;
  std::vector<uint8_t> toggles(static_cast<size_t>(rows * (cols + 1)), 0);
  for (size_t r = p.first_ring; r < p.first_ring + p.ring_count; ++r) {
    for (uint32_t i = rings_[r].first_vertex; i + 1 < rings_[r].first_vertex + rings_[r].vertex_count; ++i) {
      GridPoint lo = vertex(i), hi = vertex(i + 1);
      if (lo.y == hi.y) continue;
      if (lo.y > hi.y) std::swap(lo, hi);
      // Rows whose centre y is in [lo.y, hi.y).
      int64_t row_first = std::max<int64_t>(0, ceil_div(lo.y - cy0, side));
      int64_t row_last = std::min<int64_t>(rows - 1, ceil_div(hi.y - cy0, side) - 1);
      for (int64_t row = row_first; row <= row_last; ++row) {
        const int64_t y = cy0 + row * side;
        int64_t left = 0, right = cols;  // first column not strictly left of the edge
        while (left < right) {
          int64_t mid = (left + right) / 2;
          if (orient(lo, hi, GridPoint{cx0 + mid * side, y}) > 0) left = mid + 1; else right = mid;
        }
        toggles[static_cast<size_t>(row * (cols + 1) + left)] ^= 1;
      }
    }
  }
  std::vector<uint8_t> inside(static_cast<size_t>(rows * cols), 0);
  for (int64_t row = 0; row < rows; ++row) {
    uint8_t parity = 0;
    for (int64_t col = cols - 1; col >= 0; --col) {
      parity ^= toggles[static_cast<size_t>(row * (cols + 1) + col + 1)];
      inside[static_cast<size_t>(row * cols + col)] = parity;
    }
  }
  return inside;
}

// Drops the entries that cannot change an answer: those after the first
// edge-free inside entry (the overlap rule lets it win over them), edge-free
// outside entries (they flip nothing), and entries of the same fence before
// an edge-free inside one (either way the answer is that fence).
Cell FenceIndexBuilder::prune(Cell cell) const {
  Cell kept;
  for (Entry& e : cell) {
    if (!e.edges.empty()) {
      kept.push_back(std::move(e));
    } else if (e.inside) {
      const FenceId f = fence_of(e);
      kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Entry& k) { return fence_of(k) == f; }),
                 kept.end());
      kept.push_back(std::move(e));
      break;
    }
  }
  return kept;
}

// A cell's node when it is not split: empty, full or a leaf (written at the
// end of words_). nullopt if the cell must be split.
std::optional<uint32_t> FenceIndexBuilder::make_unsplit(int64_t x0, int64_t y0, int bits, const Cell& kept) {
  if (kept.empty()) {
    ++ix_.stats_.empty_cells;
    return FenceIndex::kEmpty << FenceIndex::kTagShift;
  }
  if (kept.front().edges.empty()) {
    ++ix_.stats_.full_cells;
    return (FenceIndex::kFull << FenceIndex::kTagShift) | fence_of(kept.front());
  }
  size_t edges = 0;
  for (const Entry& e : kept) edges += e.edges.size();
  if (edges <= opt_.leaf_edges_max || bits - opt_.fanout_bits < opt_.min_cell_bits) return make_leaf(x0, y0, kept);
  return std::nullopt;
}

uint32_t FenceIndexBuilder::make_node(int64_t x0, int64_t y0, int bits, Cell cell) {
  Cell kept = prune(std::move(cell));
  if (std::optional<uint32_t> node = make_unsplit(x0, y0, bits, kept)) return *node;
  return make_split(x0, y0, bits, std::move(kept), 1);
}

// Writes the group of a split cell (fence_index.hpp): its children, then
// the blocks of its leaf children; the children that split again get their
// own groups after it.
uint32_t FenceIndexBuilder::make_split(int64_t x0, int64_t y0, int bits, Cell kept, int depth) {
  ix_.stats_.depth_max = std::max(ix_.stats_.depth_max, depth);
  std::vector<Cell> children = split(x0, y0, bits, kept);
  kept.clear();
  auto& words = ix_.words_;
  constexpr size_t kLine = FenceIndex::kLineWords;
  const size_t base = (words.size() + kLine - 1) / kLine * kLine;
  if (base / kLine > FenceIndex::kGroupLineMask) {
    overflow_ = true;
    return 0;
  }
  words.resize(base + children.size());
  ++ix_.stats_.split_cells;
  const int child_bits = bits - opt_.fanout_bits;
  const int64_t fanout = int64_t{1} << opt_.fanout_bits;
  auto corner = [&](size_t i) {
    return std::pair<int64_t, int64_t>{x0 + ((static_cast<int64_t>(i) % fanout) << child_bits),
                                       y0 + ((static_cast<int64_t>(i) / fanout) << child_bits)};
  };
  std::vector<Cell> deferred(children.size());
  for (size_t i = 0; i < children.size(); ++i) {
    Cell child = prune(std::move(children[i]));
    auto [cx, cy] = corner(i);
    std::optional<uint32_t> node = make_unsplit(cx, cy, child_bits, child);
    if (node) words[base + i] = *node;  // after the call: it may have grown words
    else deferred[i] = std::move(child);
  }
  const size_t lines = (words.size() - base + kLine - 1) / kLine;
  for (size_t i = 0; i < children.size(); ++i) {
    if (deferred[i].empty()) continue;
    auto [cx, cy] = corner(i);
    const uint32_t node = make_split(cx, cy, child_bits, std::move(deferred[i]), depth + 1);
    words[base + i] = node;
  }
  return (FenceIndex::kSplit << FenceIndex::kTagShift) |
         std::min<uint32_t>(static_cast<uint32_t>(lines), FenceIndex::kGroupLinesMax) << FenceIndex::kGroupLineBits |
         static_cast<uint32_t>(base / kLine);
}

// The children's entries: each edge goes to the children whose interior it
// meets; each child centre's status is the parent centre's, flipped by every
// edge crossed on the way (segment_crosses_edge applies the edge rule).
std::vector<Cell> FenceIndexBuilder::split(int64_t x0, int64_t y0, int bits, const Cell& cell) const {
  const int child_bits = bits - opt_.fanout_bits;
  const int64_t fanout = int64_t{1} << opt_.fanout_bits, side = int64_t{1} << child_bits;
  const GridPoint centre{x0 + (int64_t{1} << (bits - 1)), y0 + (int64_t{1} << (bits - 1))};
  std::vector<Cell> children(static_cast<size_t>(fanout * fanout));
  for (const Entry& e : cell) {
    std::vector<std::vector<uint32_t>> edges(children.size());
    for (uint32_t i : e.edges) {
      GridPoint a = vertex(i), b = vertex(i + 1);
      int64_t c_lo = std::max<int64_t>(0, (std::min(a.x, b.x) - x0) >> child_bits);
      int64_t c_hi = std::min<int64_t>(fanout - 1, (std::max(a.x, b.x) - x0) >> child_bits);
      int64_t r_lo = std::max<int64_t>(0, (std::min(a.y, b.y) - y0) >> child_bits);
      int64_t r_hi = std::min<int64_t>(fanout - 1, (std::max(a.y, b.y) - y0) >> child_bits);
      for (int64_t r = r_lo; r <= r_hi; ++r)
        for (int64_t c = c_lo; c <= c_hi; ++c)
          if (segment_meets_open_box(a, b, x0 + c * side, y0 + r * side, x0 + (c + 1) * side, y0 + (r + 1) * side))
            edges[static_cast<size_t>(r * fanout + c)].push_back(i);
    }
    for (size_t k = 0; k < children.size(); ++k) {
      const int64_t c = static_cast<int64_t>(k) % fanout, r = static_cast<int64_t>(k) / fanout;
      const GridPoint child_centre{x0 + c * side + side / 2, y0 + r * side + side / 2};
      bool inside = e.inside;
      for (uint32_t i : e.edges) inside ^= segment_crosses_edge(centre, child_centre, vertex(i), vertex(i + 1));
      if (inside || !edges[k].empty()) children[k].push_back(Entry{e.polygon, inside, std::move(edges[k])});
    }
  }
  return children;
}

namespace {

// The vertices of an entry's edges, as make_leaf writes them: per run of
// consecutive ring edges its first vertex, then one vertex per edge.
template <class Run, class Vertex>
void for_each_run(const std::vector<uint32_t>& edges, Run on_run, Vertex on_vertex) {
  for (size_t j = 0; j < edges.size(); ++j) {
    if (j == 0 || edges[j] != edges[j - 1] + 1) {
      on_run();
      on_vertex(edges[j]);
    }
    on_vertex(edges[j] + 1);
  }
}

}  // namespace

// The shift s for which every vertex of `e`, as an offset from the cell's
// corner (x0, y0), is a multiple of 2^s that fits 16 signed bits in units
// of 2^s; nullopt if none does (compact_leaves in fence_index.hpp).
std::optional<int> FenceIndexBuilder::compact_shift(int64_t x0, int64_t y0, const Entry& e) const {
  uint64_t bits = 0;  // OR of all offsets: its trailing zeros are the shift
  int64_t lo = 0, hi = 0;
  for_each_run(e.edges, [] {}, [&](uint32_t i) {
    const GridPoint v = vertex(i);
    for (int64_t d : {v.x - x0, v.y - y0}) {
      bits |= static_cast<uint64_t>(d);
      lo = std::min(lo, d), hi = std::max(hi, d);
    }
  });
  const int shift = bits == 0 ? 0 : std::min(__builtin_ctzll(bits), 31);
  const int64_t unit = int64_t{1} << shift;
  if (lo < INT16_MIN * unit || hi > INT16_MAX * unit) return std::nullopt;
  return shift;
}

// Writes a leaf block (layout in fence_index.hpp). Edges become runs of
// consecutive ring edges: a border usually crosses a cell in one run, so a
// run of k edges costs k + 1 vertices, not 2k.
uint32_t FenceIndexBuilder::make_leaf(int64_t x0, int64_t y0, const Cell& cell) {
  std::vector<uint32_t> block;
  size_t edges = 0, entry = 0, run = 0;
  for (const Entry& e : cell) {
    const std::optional<int> shift = opt_.compact_leaves ? compact_shift(x0, y0, e) : std::nullopt;
    entry = block.size();
    block.push_back(fence_of(e) | (e.inside ? FenceIndex::kCentreInside : 0));
    block.push_back(shift ? FenceIndex::kCompact | static_cast<uint32_t>(*shift) << FenceIndex::kShiftShift : 0);
    uint32_t runs = 0;
    for_each_run(
        e.edges,
        [&] {
          ++runs;
          run = block.size();
          block.push_back(0);
        },
        [&](uint32_t i) {
          ++block[run];
          const GridPoint v = vertex(i);
          if (shift) {  // exact: every offset is a multiple of the unit
            const int64_t unit = int64_t{1} << *shift;
            const auto dx = static_cast<uint16_t>((v.x - x0) / unit);
            const auto dy = static_cast<uint16_t>((v.y - y0) / unit);
            block.push_back(static_cast<uint32_t>(dy) << 16 | dx);
          } else {
            block.push_back(static_cast<uint32_t>(v.x));  // grid coordinates are in [0, 2^31)
            block.push_back(static_cast<uint32_t>(v.y));
          }
        });
    if (runs > FenceIndex::kRunsMask) overflow_ = true;
    block[entry + 1] |= runs;
    edges += e.edges.size();
    ix_.stats_.leaf_runs += runs;
    ix_.stats_.compact_entries += shift.has_value();
  }
  block[entry] |= FenceIndex::kLastInLeaf;
  // A block that fits a cache line gets one to itself, a longer one starts
  // on a line: a lookup then reads as few lines as the block allows.
  auto& words = ix_.words_;
  constexpr size_t kLineWords = FenceIndex::kLineWords;
  size_t base = words.size();
  if (block.size() <= kLineWords ? base / kLineWords != (base + block.size() - 1) / kLineWords
                                 : base % kLineWords != 0)
    base = (base + kLineWords - 1) / kLineWords * kLineWords;
  if (base > FenceIndex::kPayloadMask) {
    overflow_ = true;
    return 0;
  }
  words.resize(base);
  words.insert(words.end(), block.begin(), block.end());
  ++ix_.stats_.leaves;
  ix_.stats_.leaf_entries += cell.size();
  ix_.stats_.leaf_edges += edges;
  ix_.stats_.leaf_edges_max_seen = std::max(ix_.stats_.leaf_edges_max_seen, edges);
  return (FenceIndex::kLeaf << FenceIndex::kTagShift) | static_cast<uint32_t>(base);
}

void FenceIndexBuilder::finish(std::chrono::steady_clock::time_point start) {
  ix_.root_.shrink_to_fit();
  ix_.words_.shrink_to_fit();
  ix_.fence_shard_.shrink_to_fit();
  FenceIndexStats& s = ix_.stats_;
  s.fences = ix_.fence_shard_.size();
  s.polygons = polygons_.size();
  for (const RingRef& r : rings_) s.edges += r.vertex_count - 1;
  s.root_cells = ix_.root_.size();
  s.root_cell_bits = ix_.root_bits_;
  s.memory_bytes = ix_.memory_bytes();
  s.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Result<FenceIndex> FenceIndex::build(const FenceSet& fences, const FenceIndexOptions& options) {
  if (options.fanout_bits < 1 || options.fanout_bits > 4 || options.min_cell_bits < 1 ||
      options.min_cell_bits > 24 || options.root_cells_max < 1 || options.leaf_edges_max < 1)
    return Status(Errc::invalid_argument, "fence index options out of range: fanout_bits 1..4, "
                                          "min_cell_bits 1..24, root_cells_max and leaf_edges_max >= 1");
  FenceIndex index;
  index.fanout_bits_ = options.fanout_bits;
  FenceIndexBuilder builder(options, &index);
  if (Status s = builder.run(fences); !s) return s;
  return index;
}

}  // namespace ezone::geo
