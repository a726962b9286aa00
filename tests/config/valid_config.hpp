// The smallest valid node config (two zones, bj and sh), which the config
// tests edit into each wrong one.
#pragma once

namespace ezone::test {

inline const char* const kValid = R"(
[node]
ezone = "bj"
http = "127.0.0.1:17100"
admin = "127.0.0.1:17101"
cluster = "127.0.0.1:17102"
data_dir = "/tmp/ezone-test-bj"

[[peers]]
ezone = "sh"
cluster = "127.0.0.1:17202"

[etcd]
endpoints = ["127.0.0.1:2479"]
)";

}  // namespace ezone::test
