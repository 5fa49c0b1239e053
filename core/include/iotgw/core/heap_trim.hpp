// Giving the heap's free memory back to the kernel, now and then.
//
// glibc keeps what a process frees inside its arenas and returns memory to the kernel only from
// the top of the heap. A gateway runs for months and frees small and medium blocks all the time
// (messages, JSON documents, paho's packets, TLS records on every reconnect), and a block still in
// use anywhere above a freed one keeps that memory in the process. The soak (tests/bench/soak.py)
// showed RssAnon creeping up by a few percent an hour while heaptrack found nothing leaked: free
// memory scattered between live blocks. malloc_trim(0) also gives back every whole free page in the
// middle of each arena (madvise MADV_DONTNEED), so the resident size follows what is really in use.
// It walks the arenas under their locks, which for a heap of a few MB takes well under a
// millisecond; once every kHeapTrimInterval costs nothing measurable.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace iotgw::core {

inline constexpr std::chrono::minutes kHeapTrimInterval{5};

// Gives free heap pages back to the kernel. True when glibc released any; false when it had
// nothing to release or the allocator is not glibc's (sanitizer builds replace it).
bool release_free_heap() noexcept;

// Calls release_free_heap() every `every` on `io` until stopped or destroyed.
class HeapTrimmer {
public:
    HeapTrimmer(boost::asio::io_context& io, std::chrono::steady_clock::duration every);
    HeapTrimmer(const HeapTrimmer&) = delete;
    HeapTrimmer& operator=(const HeapTrimmer&) = delete;
    ~HeapTrimmer() { stop(); }

    void start();
    void stop() noexcept { timer_.cancel(); }
    // How many times it has run (for tests and the debug log).
    unsigned long runs() const noexcept { return runs_; }

private:
    void arm();

    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::duration every_;
    unsigned long runs_ = 0;
};

}  // namespace iotgw::core
