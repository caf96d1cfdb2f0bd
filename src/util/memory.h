// Resident memory of this process (Linux /proc and getrusage), for the benchmarks.
#pragma once
#include <cstddef>

namespace lengen {

size_t current_rss_bytes();  // now
size_t peak_rss_bytes();     // the most since the process started (VmHWM)

}  // namespace lengen
