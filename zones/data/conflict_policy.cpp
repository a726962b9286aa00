#include "zones/data/conflict_policy.hpp"

namespace ezone::data {

const char* conflict_policy_name(ConflictPolicy policy) {
  switch (policy) {
    case ConflictPolicy::last_writer_wins: return "last-writer-wins";
    case ConflictPolicy::first_writer_wins: return "first-writer-wins";
  }
  return "?";
}

Result<ConflictPolicy> parse_conflict_policy(const std::string& text) {
  if (text == "last-writer-wins") return ConflictPolicy::last_writer_wins;
  if (text == "first-writer-wins") return ConflictPolicy::first_writer_wins;
  return Status(Errc::invalid_argument, "'" + text +
                                            "' is not a conflict policy (expected "
                                            "'last-writer-wins' or 'first-writer-wins')");
}

bool wins(ConflictPolicy policy, const RowVersion& a, const RowVersion& b) {
  // An empty version is "no row was ever written": any real version beats it.
  if (a.empty() != b.empty()) return b.empty();
  const bool a_later = a.hlc != b.hlc ? a.hlc > b.hlc : a.origin > b.origin;
  return policy == ConflictPolicy::last_writer_wins ? a_later : !a_later;
}

}  // namespace ezone::data
