#pragma once

namespace ezone {
// "<semver>+<git describe>", fixed at configure time.
const char* build_version();
}  // namespace ezone
