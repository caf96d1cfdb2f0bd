#include "util/memory.h"

#include <fstream>
#include <string>

namespace lengen {
namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes (0 where unavailable).
size_t status_kb(const std::string& name) {
  std::ifstream in("/proc/self/status");
  std::string key;
  size_t kb = 0;
  while (in >> key) {
    if (key == name + ":") {
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

}  // namespace

size_t current_rss_bytes() { return status_kb("VmRSS"); }
size_t peak_rss_bytes() { return status_kb("VmHWM"); }

}  // namespace lengen
