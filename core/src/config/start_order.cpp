#include "start_order.hpp"

#include "text_util.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace iotgw::core::config_detail {

namespace {

int kind_rank(iotgw_kind k) {
    switch (k) {
        case IOTGW_KIND_CREDENTIALS: return 0;
        case IOTGW_KIND_CONNECTION: return 1;
        // Before the processors: the `jobs` processor hands executions to them (and refers to
        // them, which orders it after them anyway).
        case IOTGW_KIND_JOB_HANDLER: return 2;
        case IOTGW_KIND_SINK: return 3;
        case IOTGW_KIND_PROCESSOR: return 4;
        case IOTGW_KIND_SOURCE: return 5;
    }
    return 6;
}

// Edges to names that are not instances were reported as undefined references already.
std::vector<std::vector<std::size_t>> edges(const std::vector<InstanceDraft>& drafts) {
    std::map<std::string, std::size_t, std::less<>> at;
    for (std::size_t i = 0; i < drafts.size(); ++i) at.emplace(drafts[i].config.name, i);
    std::vector<std::vector<std::size_t>> out(drafts.size());
    for (std::size_t i = 0; i < drafts.size(); ++i)
        for (const auto& dep : drafts[i].config.depends_on)
            if (auto it = at.find(dep); it != at.end()) out[i].push_back(it->second);
    return out;
}

bool report_cycles(LoadContext& ctx, const std::vector<InstanceDraft>& drafts,
                   const std::vector<std::vector<std::size_t>>& deps) {
    enum class Mark { none, active, done };
    std::vector<Mark> mark(drafts.size(), Mark::none);
    std::vector<std::size_t> stack;
    bool found = false;
    // Iterative would avoid deep recursion, but a chain of REFs is as long as the config.
    auto visit = [&](auto& self, std::size_t i) -> void {
        mark[i] = Mark::active;
        stack.push_back(i);
        for (std::size_t d : deps[i]) {
            if (mark[d] == Mark::active) {
                auto start = std::find(stack.begin(), stack.end(), d);
                std::vector<std::string> names;
                for (auto it = start; it != stack.end(); ++it) names.push_back(drafts[*it].config.name);
                names.push_back(drafts[d].config.name);
                ctx.error(drafts[d].config.where,
                          "instances refer to each other in a cycle: " + join(names, " -> ") +
                              "; none of them could start first");
                found = true;
            } else if (mark[d] == Mark::none) {
                self(self, d);
            }
        }
        stack.pop_back();
        mark[i] = Mark::done;
    };
    for (std::size_t i = 0; i < drafts.size(); ++i)
        if (mark[i] == Mark::none) visit(visit, i);
    return found;
}

}  // namespace

std::vector<InstanceConfig> start_order(LoadContext& ctx, std::vector<InstanceDraft>& drafts) {
    auto deps = edges(drafts);
    if (report_cycles(ctx, drafts, deps)) return {};
    std::vector<std::size_t> waiting(drafts.size());
    for (std::size_t i = 0; i < drafts.size(); ++i) waiting[i] = deps[i].size();
    std::vector<std::vector<std::size_t>> dependents(drafts.size());
    for (std::size_t i = 0; i < drafts.size(); ++i)
        for (std::size_t d : deps[i]) dependents[d].push_back(i);

    std::vector<bool> placed(drafts.size(), false);
    std::vector<InstanceConfig> out;
    out.reserve(drafts.size());
    auto key = [&](std::size_t i) { return std::tuple(kind_rank(drafts[i].config.kind), drafts[i].order); };
    while (out.size() < drafts.size()) {
        std::size_t best = drafts.size();
        for (std::size_t i = 0; i < drafts.size(); ++i)
            if (!placed[i] && waiting[i] == 0 && (best == drafts.size() || key(i) < key(best))) best = i;
        if (best == drafts.size()) break;  // unreachable without cycles
        placed[best] = true;
        for (std::size_t d : dependents[best]) --waiting[d];
        out.push_back(std::move(drafts[best].config));
    }
    return out;
}

}  // namespace iotgw::core::config_detail
