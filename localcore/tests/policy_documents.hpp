// The repository's IoT policy documents (cloud/policies, the ones the AWS deployment attaches and
// localcore enforces) loaded into localcore's evaluator, for the allow/deny matrix tests.
#pragma once

#include "policy.hpp"

#include <filesystem>
#include <string_view>

namespace localcore::policy_test {

// cloud/policies/<file> as the only policy of a set.
inline PolicySet load(const char* file) {
    PolicySet set;
    set.add(Policy::load_file(std::filesystem::path(LOCALCORE_POLICY_DIR) / file));
    return set;
}

inline bool allows(const PolicySet& set, Action a, std::string_view resource, const RequestContext& ctx) {
    return set.evaluate(a, resource, ctx).allowed;
}

}  // namespace localcore::policy_test
