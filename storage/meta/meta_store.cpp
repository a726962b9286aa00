#include "storage/meta/meta_store.hpp"

namespace ezone::meta {

Result<TxnResult> MetaStore::cas(const std::string& key, int64_t expected_mod_revision,
                                 const std::string& value, int64_t lease) {
  TxnRequest request;
  request.compares.push_back({key, Compare::Target::mod_revision, expected_mod_revision, {}});
  request.success.push_back({Op::Kind::put, key, value, lease});
  return txn(request);
}

}  // namespace ezone::meta
