// iotgw::core::release_free_heap and HeapTrimmer: free memory between live blocks goes back to
// the kernel (core/include/iotgw/core/heap_trim.hpp says why the gateway needs it).
#include <iotgw/core/heap_trim.hpp>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

// RssAnon of this process in KiB (what the soak watches), or -1.
long rss_anon_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
    return -1;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcHeap = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kGlibcHeap = false;
#else
constexpr bool kGlibcHeap = true;
#endif
#else
constexpr bool kGlibcHeap = true;
#endif

// 64 blocks of 64 KiB, each followed by a small block that stays in use, so that once the large
// ones are freed none of them is at the top of the heap: glibc keeps all 4 MiB resident until
// trimmed (the pattern of a gateway freeing message buffers between long-lived allocations).
TEST(HeapTrim, FreePagesBetweenLiveBlocksGoBackToTheKernel) {
    if (!kGlibcHeap) GTEST_SKIP() << "the sanitizer's allocator is not glibc's";
    constexpr std::size_t kBig = 64 * 1024;
    constexpr int kBlocks = 64;
    std::vector<char*> big;
    std::vector<char*> live;
    for (int i = 0; i < kBlocks; ++i) {
        big.push_back(new char[kBig]);
        std::memset(big.back(), 1, kBig);  // touched: resident
        live.push_back(new char[64]);
        std::memset(live.back(), 2, 64);
    }
    for (char* b : big) delete[] b;

    const long before = rss_anon_kib();
    ASSERT_GT(before, 0);
    EXPECT_TRUE(iotgw::core::release_free_heap());
    const long after = rss_anon_kib();
    // At least half of the 4 MiB freed is given back (pages at chunk edges stay).
    EXPECT_LE(after, before - 2048) << "RssAnon " << before << " KiB before, " << after << " KiB after";
    for (char* l : live) delete[] l;
}

TEST(HeapTrim, TheTrimmerRunsOnTheLoopUntilStopped) {
    boost::asio::io_context io;
    iotgw::core::HeapTrimmer trimmer(io, std::chrono::milliseconds(1));
    trimmer.start();
    for (int i = 0; i < 10000 && trimmer.runs() < 3; ++i) io.run_one();
    EXPECT_GE(trimmer.runs(), 3u);
    trimmer.stop();
    const auto runs = trimmer.runs();
    io.restart();
    io.run();  // only the cancelled wait is left: it returns without trimming again
    EXPECT_EQ(trimmer.runs(), runs);
}

}  // namespace
