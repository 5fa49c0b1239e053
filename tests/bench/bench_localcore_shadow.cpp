// localcore's Device Shadow cost against the number of things and shadows stored (issue "A fleet
// on one machine": "Shadow storage per thing instead of one file for all, if that is what makes
// updates independent of fleet size (measure first)").
//
// A data directory as the fleet simulator leaves it: registry.json with N things, each with its
// certificate, and one `robot` shadow per thing under shadows/<thing>/robot.json (shadow_store.cpp
// keeps one file per shadow). A request goes through what the broker plugin's on_message runs
// (broker_services.cpp): parse_shadow_request_topic, then ShadowService::handle, which reads the
// shadow's file, merges, writes it back with write_file_atomic (a new temporary file, fsync,
// rename over the old one, fsync of the directory) and builds the replies. The iot:Publish check
// before it evaluates the connection's compiled policies and does not read the registry
// (bench_localcore_auth measures the registry side).
//
// At 10, 1,000 and 10,000 things, one data directory and one ShadowService per size for the whole
// run, as one broker keeps them:
// - OneThing: one AMR's shadow again and again (a hot file);
// - AcrossFleet: thing i % N at request i (a different file and directory each time).
// Target: flat in N.
//
// The data directories are created under TMPDIR, as the fleet simulator's are, and an update's
// cost is mostly the file system's: two fsyncs, and a new inode for every write (the temporary file
// renamed over the old one). TMPDIR=/dev/shm measures localcore's own work. On ext4 without a
// journal (this CI machine's root file system) the inode allocator skips, one lookup each, every
// inode of the block group freed in the last 60 s (360 s while its inode table block is unwritten)
// (fs/ext4/ialloc.c find_inode_bit -> recently_deleted), so there a create costs what the whole
// machine deleted recently, and the figures move with that, not with N (docs/scaling.md).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.hpp"
#include "registry.hpp"
#include "registry_fleet.hpp"
#include "shadow.hpp"

namespace {

namespace fs = std::filesystem;
using localcore::test::fleet_thing;

constexpr const char* kShadowName = "robot";

std::string topic_of(const std::string& thing, const char* op) {
    return "$aws/things/" + thing + "/shadow/name/" + kShadowName + "/" + op;
}

bool ends_with(const std::string& text, const std::string& tail) {
    return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// What the gateway's shadow processor reports on a status change (plugins/shadow reconcile.cpp
// send_report): the reported changes, its clientToken and the version it holds.
std::string report_payload(std::int64_t version, std::uint64_t serial) {
    const bool moving = serial % 2 == 0;
    return std::string(R"({"state":{"reported":{"state":")") + (moving ? "moving" : "idle") +
           R"(","command_id":"call-)" + std::to_string(serial) + R"("}},"clientToken":"bench-)" +
           std::to_string(serial) + R"(","version":)" + std::to_string(version) + "}";
}

// A data directory with `things` registered things, each with its robot shadow at version 1;
// removed afterwards. The first shadow is written by the service itself; the others are copies
// of its file (the document does not name its thing), so preparing 10,000 takes no 20,000 fsyncs.
class FleetState {
public:
    explicit FleetState(std::size_t things) : things_(things) {
        std::string pattern = (fs::temp_directory_path() / "bench_localcore_shadow.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw localcore::Error("cannot create a temporary directory");
        dir_ = pattern;
        localcore::write_file_atomic(dir_ / "registry.json",
                                     localcore::registry_to_json(localcore::test::fleet_registry(things)), 0600);
        localcore::ShadowService service(dir_, localcore::ShadowLimits{});
        const auto first = localcore::parse_shadow_request_topic(topic_of(fleet_thing(0), "update"));
        const auto replies = service.handle(
            *first, R"({"state":{"reported":{"state":"idle","command_id":"call-0","battery":87}}})", 0);
        if (replies.empty() || !ends_with(replies.front().topic, "/update/accepted"))
            throw localcore::Error("the first shadow was not created: " +
                                   (replies.empty() ? std::string("no reply") : replies.front().payload));
        const localcore::shadow::Store store(dir_);
        const fs::path original = store.path_for(fleet_thing(0), kShadowName);
        for (std::size_t i = 1; i < things; ++i) {
            const fs::path copy = store.path_for(fleet_thing(i), kShadowName);
            fs::create_directories(copy.parent_path());
            fs::copy_file(original, copy);
        }
    }
    ~FleetState() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    FleetState(const FleetState&) = delete;
    FleetState& operator=(const FleetState&) = delete;
    const fs::path& dir() const { return dir_; }
    std::size_t things() const { return things_; }

private:
    std::size_t things_;
    fs::path dir_;
};

// One broker's shadow service over the state, with the broker's default limits (20 requests per
// second per thing). Its clock is the benchmark's own, 100 ms further at every request, so no
// thing ever reaches the rate limit however fast the loop runs, while the limiter still tracks
// every thing it has seen, as the broker's does.
class Broker {
public:
    explicit Broker(const FleetState& state)
        : service_(state.dir(), localcore::ShadowLimits{}),
          versions_(state.things(), 1),
          now_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()) {
        service_.set_error_sink([this](std::string_view what) { error_ = what; });
        for (std::size_t i = 0; i < state.things(); ++i) topics_.push_back(TopicsOf(fleet_thing(i)));
    }

    // Returns an empty string, or why the request was not accepted.
    std::string update(std::size_t thing) {
        const auto request = localcore::parse_shadow_request_topic(topics_[thing].update);
        const auto replies = service_.handle(*request, report_payload(versions_[thing], ++serial_), tick());
        if (replies.empty() || !ends_with(replies.front().topic, "/update/accepted"))
            return "update not accepted: " + (replies.empty() ? std::string("no reply") : replies.front().payload) +
                   " " + error_;
        ++versions_[thing];
        benchmark::DoNotOptimize(replies.back().payload.data());
        return {};
    }

    // The next thing of the fleet in turn (AcrossFleet), continued from one benchmark run to the next.
    std::size_t next_thing() { return cursor_++ % versions_.size(); }

    std::string get(std::size_t thing) {
        const auto request = localcore::parse_shadow_request_topic(topics_[thing].get);
        const auto replies = service_.handle(*request, R"({"clientToken":"bench-get"})", tick());
        if (replies.size() != 1 || !ends_with(replies.front().topic, "/get/accepted"))
            return "get not accepted: " + (replies.empty() ? std::string("no reply") : replies.front().payload) +
                   " " + error_;
        benchmark::DoNotOptimize(replies.front().payload.data());
        return {};
    }

private:
    struct TopicsOf {
        explicit TopicsOf(const std::string& thing) : update(topic_of(thing, "update")), get(topic_of(thing, "get")) {}
        std::string update;
        std::string get;
    };

    std::int64_t tick() { return now_ms_ += 100; }

    localcore::ShadowService service_;
    std::vector<std::int64_t> versions_;
    std::vector<TopicsOf> topics_;
    std::int64_t now_ms_;
    std::uint64_t serial_ = 0;
    std::size_t cursor_ = 0;
    std::string error_;
};

// One data directory and one service per fleet size for the whole process: Google Benchmark calls
// a benchmark several times, and preparing 10,000 shadows each time would cost more than the
// measurement (and free 20,000 inodes each time, which slows every create after it; see above).
struct Fleet {
    explicit Fleet(std::size_t things) : state(things), broker(state) {}
    FleetState state;
    Broker broker;
};

Fleet& fleet_of(std::size_t things) {
    static std::map<std::size_t, std::unique_ptr<Fleet>> fleets;
    auto& fleet = fleets[things];
    if (!fleet) fleet = std::make_unique<Fleet>(things);
    return *fleet;
}

void report(benchmark::State& state) {
    state.counters["requests_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["things"] = static_cast<double>(state.range(0));
}

enum class Pattern { one_thing, across_fleet };
enum class Op { update, get };

template <Op op, Pattern pattern>
void BM_Shadow(benchmark::State& state) {
    Fleet* fleet = nullptr;
    try {
        fleet = &fleet_of(static_cast<std::size_t>(state.range(0)));
    } catch (const std::exception& e) {  // no room or no permission under TMPDIR: say so, not abort
        state.SkipWithError(e.what());
        return;
    }
    Broker& broker = fleet->broker;
    for (auto _ : state) {
        const std::size_t thing = pattern == Pattern::one_thing ? 0 : broker.next_thing();
        const std::string why = op == Op::update ? broker.update(thing) : broker.get(thing);
        if (!why.empty()) {
            state.SkipWithError(why.c_str());
            break;
        }
    }
    report(state);
}

void BM_ShadowUpdate_OneThing(benchmark::State& s) { BM_Shadow<Op::update, Pattern::one_thing>(s); }
void BM_ShadowUpdate_AcrossFleet(benchmark::State& s) { BM_Shadow<Op::update, Pattern::across_fleet>(s); }
void BM_ShadowGet_OneThing(benchmark::State& s) { BM_Shadow<Op::get, Pattern::one_thing>(s); }
void BM_ShadowGet_AcrossFleet(benchmark::State& s) { BM_Shadow<Op::get, Pattern::across_fleet>(s); }

BENCHMARK(BM_ShadowUpdate_OneThing)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ShadowUpdate_AcrossFleet)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ShadowGet_OneThing)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ShadowGet_AcrossFleet)->Arg(10)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
