#include "io/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "io/atomic_file.h"
#include "util/error.h"

namespace lengen::io {
namespace {

struct Held {
  int fd = -1;
  int count = 0;
};
std::mutex held_mutex;
std::map<std::string, Held> held;  // canonical directory -> this process's lock on it

}  // namespace

DirectoryLock::DirectoryLock(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  key_ = fs::canonical(dir).string();
  std::lock_guard<std::mutex> guard(held_mutex);
  Held& h = held[key_];
  if (h.count > 0) {
    ++h.count;
    return;
  }
  const std::string path = key_ + "/.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    held.erase(key_);
    fail("{}: cannot open the run lock: {}", path, std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    held.erase(key_);
    std::string holder;
    try {
      holder = read_file(path);
    } catch (const Error&) {
    }
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (err == EWOULDBLOCK)
      fail("{}: the run directory is in use by another lengen process{}; wait for it to finish "
           "or use another directory",
           dir, holder.empty() ? "" : " (pid " + holder + ")");
    fail("{}: cannot lock the run directory: {}", path, std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid.data(), pid.size()) != ssize_t(pid.size())) {
    // The pid is only a hint for the error above; the lock itself holds.
  }
  h = {fd, 1};
}

DirectoryLock::~DirectoryLock() {
  std::lock_guard<std::mutex> guard(held_mutex);
  auto it = held.find(key_);
  if (it == held.end() || --it->second.count > 0) return;
  ::close(it->second.fd);  // releases the flock
  held.erase(it);
}

}  // namespace lengen::io
